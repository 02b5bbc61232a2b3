//! Health, metrics, the API description.

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Db, TestApp};

crate::both_backends!(health_metrics_and_openapi);

async fn health_metrics_and_openapi(db: Db) {
    let app = TestApp::spawn(db).await;
    let r = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-request-id"));
    app.ticket("Counted", "m@shop.test").await;
    app.get("/api/v1/tickets/424242").await;
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"storedesk_http_requests_total{method="POST",route="/api/v1/tickets",status="201"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/tickets/{id}",status="404""#),
        "ids are not labels: {text}"
    );
    assert!(
        text.contains("storedesk_http_request_duration_seconds_bucket"),
        "{text}"
    );

    let spec: Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/tickets",
        "/tickets/{id}",
        "/tickets/{id}/messages",
        "/me",
        "/users",
        "/users/{id}/tokens",
        "/teams",
        "/teams/{id}/members",
        "/widget",
        "/stream",
    ] {
        assert!(spec["paths"][path].is_object(), "openapi.json lacks {path}");
    }
}
