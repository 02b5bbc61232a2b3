//! The HTTP(S) probe: one request from this server, no redirect to a
//! refused address, the answer's status and (a capped read of) its text
//! compared with what is expected.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{allowed_fn, Settings, READ_MAX};
use crate::domain::monitor::{short_error, Outcome, Spec};
use crate::webhooks::client::{check_destination_for, guard, Allowed};

/// What a probe found, with how long it took.
pub struct Probe {
    pub outcome: Outcome,
    pub response_ms: Option<i64>,
    pub status: Option<i64>,
}

/// The client of HTTP monitors: names resolved by the guard (so DNS
/// rebinding meets the same check at connect time), redirects followed
/// only to allowed literal addresses (names go through the guard).
pub fn client(settings: &Arc<Settings>) -> reqwest::Client {
    let s = settings.clone();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 5 {
            return attempt.error("more than 5 redirects");
        }
        let host = attempt
            .url()
            .host_str()
            .unwrap_or("")
            .trim_matches(['[', ']'])
            .to_string();
        match host.parse::<std::net::IpAddr>() {
            Ok(ip) if s.allowed().refuses(ip).is_some() => attempt.error(format!("redirect to a refused address {ip}")),
            _ => attempt.follow(),
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("storedesk-monitor/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(guard(allowed_fn(settings), "monitors"))
        .build()
        .expect("the monitor client builds")
}

pub async fn check(client: &reqwest::Client, allow: &Allowed, spec: &Spec) -> Probe {
    let failed = |e: String| Probe {
        outcome: Outcome::Failed(short_error(&e)),
        response_ms: None,
        status: None,
    };
    let url = match spec.str("url").map(url::Url::parse) {
        Some(Ok(u)) => u,
        _ => return failed("the monitor has no valid URL".into()),
    };
    if let Err(e) = check_destination_for(&url, allow, "monitors").await {
        return failed(e);
    }
    let timeout = Duration::from_millis(spec.timeout_ms().max(1) as u64);
    let started = Instant::now();
    let run = async {
        let mut res = client.get(url).send().await.map_err(|e| root_cause(&e))?;
        let status = res.status().as_u16();
        let mut body: Vec<u8> = Vec::new();
        if spec.str("expect_text").is_some() {
            while body.len() < READ_MAX {
                match res.chunk().await {
                    Ok(Some(c)) => body.extend_from_slice(&c[..c.len().min(READ_MAX - body.len())]),
                    Ok(None) => break,
                    Err(e) => return Err(root_cause(&e)),
                }
            }
        }
        Ok::<_, String>((status, body))
    };
    let (status, body) = match tokio::time::timeout(timeout, run).await {
        Err(_) => return failed(format!("no answer within {} ms", timeout.as_millis())),
        Ok(Err(e)) => return failed(e),
        Ok(Ok(r)) => r,
    };
    let response_ms = Some(started.elapsed().as_millis() as i64);
    let expected = spec.int("expect_status").unwrap_or(200);
    let outcome = if i64::from(status) != expected {
        Outcome::Failed(format!("HTTP {status}, expected {expected}"))
    } else if let Some(t) = spec.str("expect_text") {
        if String::from_utf8_lossy(&body).contains(t) {
            Outcome::Ok { expires_at: None }
        } else {
            Outcome::Failed("the expected text is not in the answer".into())
        }
    } else {
        Outcome::Ok { expires_at: None }
    };
    Probe {
        outcome,
        response_ms,
        status: Some(i64::from(status)),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
