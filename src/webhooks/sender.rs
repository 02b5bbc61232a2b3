//! The sender: on every node, claims due deliveries (a lease on the row,
//! so two nodes never send one at once) and posts them, each in its own
//! task, so a slow receiver holds up only its own deliveries. After each
//! attempt it looks again at once: the next delivery of the same ticket
//! may be due now.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Semaphore;

use super::{client, CLAIM, PARALLEL, PER_HOOK};
use crate::domain::signature::{sign, HEADER, TIMESTAMP_HEADER};
use crate::domain::webhook::payload;
use crate::service::Services;
use crate::store::now_ms;
use crate::store::webhooks::{Attempt, Claimed};

pub async fn run(svc: Services) {
    let settings = svc.webhooks.clone();
    let http = client::build(settings.clone());
    let slots = Arc::new(Semaphore::new(PARALLEL));
    loop {
        let free = slots.available_permits() as i64;
        if free > 0 {
            match svc.store.due_webhook_deliveries(free, PER_HOOK).await {
                Ok(due) => {
                    for id in due {
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            break;
                        };
                        let until = now_ms() + CLAIM.as_millis() as i64;
                        match svc.store.claim_webhook_delivery(id, until).await {
                            Ok(Some(c)) => {
                                let (svc, http) = (svc.clone(), http.clone());
                                tokio::spawn(async move {
                                    send(&svc, &http, c).await;
                                    drop(permit);
                                    svc.webhooks.wake.notify_one();
                                });
                            }
                            Ok(None) => {}
                            Err(e) => tracing::warn!(error = %e, "webhook delivery not claimed"),
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "due webhook deliveries not read"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll()) => {}
            _ = settings.wake.notified() => {}
        }
    }
}

/// One attempt of claimed delivery `c`, recorded.
async fn send(svc: &Services, http: &reqwest::Client, c: Claimed) {
    let attempt = match serde_json::from_str::<Value>(&c.event) {
        Ok(event) => {
            let ts = now_ms() / 1000;
            let body = payload(c.id, &c.event_type, c.created_at, ts, &event)
                .to_string()
                .into_bytes();
            let headers = vec![
                (HEADER, sign(c.secret.as_bytes(), &body)),
                ("x-storedesk-event", c.event_type.clone()),
                ("x-storedesk-delivery", c.id.to_string()),
                (TIMESTAMP_HEADER, ts.to_string()),
            ];
            client::post(http, &svc.webhooks, &c.url, headers, body).await
        }
        Err(e) => Attempt {
            status: None,
            excerpt: None,
            error: Some(format!("stored event unreadable: {e}")),
            ok: false,
        },
    };
    metrics::counter!("storedesk_webhook_attempts_total", "ok" => if attempt.ok { "true" } else { "false" })
        .increment(1);
    if let Err(e) = svc.record_webhook_attempt(&c, &attempt).await {
        tracing::warn!(delivery = c.id, error = %e, "webhook attempt not recorded; tried again after its claim");
    }
}
