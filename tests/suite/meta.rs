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
    // Every route of the API router, with each of its methods, is in the
    // document: read from the router's own source, so a new endpoint
    // without its description fails here.
    let source = include_str!("../../src/http/mod.rs");
    let block = source
        .split("let api = Router::new()")
        .nth(1)
        .and_then(|b| b.split(';').next())
        .expect("the API router");
    let mut routes = 0;
    for route in block.split(".route(").skip(1) {
        let path = route.split('"').nth(1).expect("a path");
        for method in ["get", "post", "put", "patch", "delete"] {
            if route.contains(&format!("{method}(")) {
                routes += 1;
                assert!(
                    spec["paths"][path][method].is_object(),
                    "openapi.json lacks {} {path}",
                    method.to_uppercase()
                );
            }
        }
    }
    assert!(routes > 25, "{routes} routes read from the router");
}
