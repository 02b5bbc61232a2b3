//! Logs and metrics. Logs are structured (tracing; JSON with
//! `--log-format json`); metrics are kept in Prometheus form for `/metrics`.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Sets up logging once per process; later calls (tests) do nothing.
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STOREDESK_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    // async-imap traces every command it sends, LOGIN with its password
    // included: never let that reach a log, whatever level is asked for.
    let filter = filter.add_directive("async_imap::imap_stream=off".parse().expect("static directive"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json { b.json().try_init() } else { b.try_init() };
}

/// The process-wide metrics recorder. The `metrics` macros report to one
/// global recorder, so every app in a process shares it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may be installed already (a host program);
            // then our handle renders only what we record ourselves.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts requests and times them per route template (not per URL, so
/// ids do not explode the label space).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    // Labels only from closed sets: a client picks its method freely, and
    // every new label value is a new series kept for the process's life.
    let method = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method.to_string()), ("route", route), ("status", status)];
    metrics::counter!("storedesk_http_requests_total", &labels).increment(1);
    metrics::histogram!("storedesk_http_request_duration_seconds", &labels[..2]).record(start.elapsed().as_secs_f64());
    res
}
