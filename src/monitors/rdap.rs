//! The domain probe: asks the operator's RDAP server (`--rdap-url`, a
//! trusted address, so not guarded) for `/domain/{name}` and reads its
//! expiration event.

use std::time::{Duration, Instant};

use super::http::Probe;
use crate::domain::monitor::{rdap_expiration, short_error, Outcome, Spec};

/// The most of an RDAP answer read.
const RDAP_MAX: usize = 512 * 1024;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("storedesk-monitor/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the RDAP client builds")
}

pub async fn check(client: &reqwest::Client, base: &str, spec: &Spec) -> Probe {
    let failed = |e: String| Probe {
        outcome: Outcome::Failed(short_error(&e)),
        response_ms: None,
        status: None,
    };
    let domain = spec.str("domain").unwrap_or("");
    let started = Instant::now();
    let mut res = match client
        .get(format!("{base}/domain/{domain}"))
        .header("accept", "application/rdap+json, application/json")
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return failed(format!("RDAP server not reached: {e}")),
    };
    let status = res.status();
    if !status.is_success() {
        return failed(format!("RDAP answered HTTP {status}"));
    }
    let mut body = Vec::new();
    while let Ok(Some(c)) = res.chunk().await {
        body.extend_from_slice(&c);
        if body.len() > RDAP_MAX {
            return failed("the RDAP answer is too large".into());
        }
    }
    let v: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return failed("the RDAP answer is not JSON".into()),
    };
    match rdap_expiration(&v) {
        Ok(at) => Probe {
            outcome: Outcome::Ok { expires_at: Some(at) },
            response_ms: Some(started.elapsed().as_millis() as i64),
            status: Some(i64::from(status.as_u16())),
        },
        Err(e) => failed(e),
    }
}
