//! The sender of agents' replies on messenger channels: takes due rows of
//! `messenger_deliveries` (queued by `events::messengers`), sends them to
//! Telegram or to a gateway's URL, and retries with backoff. One node at a
//! time sends (a lease); a connection's replies go out in order, while
//! connections are served side by side, so a slow gateway holds up only
//! its own replies.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::channels::telegram::api::TgError;
use crate::domain::signature;
use crate::service::messengers::bot_of;
use crate::service::Services;
use crate::store::messengers::{Connection, Delivery};
use crate::store::{now_ms, Result};

const LEASE: &str = "messenger-sender";
/// Longer than any one call may take, so a holder never loses the lease
/// mid-send; a dead holder's work is taken over after it.
const LEASE_MS: i64 = 120_000;
/// Failed tries before a reply is given up: with `backoff_ms`, about a
/// day, as for webhooks (a gateway down for a night must not lose replies).
pub const MAX_ATTEMPTS: i64 = 35;
/// The longest text sent in one Telegram message (its limit is 4096).
const TEXT_PIECE: usize = 4000;

/// The wait before try `attempts + 1`: 1 s, 2 s, 4 s, ... up to an hour.
pub fn backoff_ms(attempts: i64) -> i64 {
    // The webhooks' schedule without its jitter: one sender, one gateway.
    crate::domain::webhook::backoff_ms(attempts + 1, 1000, 3_600_000, 1.0)
}

/// Sends due replies until the node stops (see `jobs::Shutdown::spawn`).
pub async fn run(svc: Services) {
    let http = crate::webhooks::client::build(svc.webhooks.clone());
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match svc
            .store
            .acquire_lease(LEASE, &svc.bus.node, now_ms() + LEASE_MS, i64::MAX)
            .await
        {
            Ok(Some(_)) => {
                if let Err(e) = send_due(&svc, &http).await {
                    tracing::warn!(error = %e, "messenger replies not sent");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "messenger sender lease not taken"),
        }
    }
}

async fn send_due(svc: &Services, http: &reqwest::Client) -> Result<()> {
    let due = svc.store.due_deliveries(100).await?;
    if due.is_empty() {
        return Ok(());
    }
    let mut by_connection: BTreeMap<i64, Vec<Delivery>> = BTreeMap::new();
    for d in due {
        by_connection.entry(d.connection_id).or_default().push(d);
    }
    futures::future::join_all(by_connection.into_iter().map(|(id, ds)| async move {
        let Some(c) = svc.store.connection_by_id(id).await? else {
            return Ok(());
        };
        for d in ds {
            if c.kind == "telegram" {
                to_telegram(svc, &c, &d).await?;
            } else {
                to_gateway(svc, http, &c, &d).await?;
            }
        }
        Ok::<_, crate::store::StoreError>(())
    }))
    .await
    .into_iter()
    .collect()
}

/// What an agent's reply holds: its text and its files (name, type, bytes).
async fn reply_of(svc: &Services, d: &Delivery) -> Result<Option<(String, Vec<(String, String, Vec<u8>)>)>> {
    let Some(m) = svc.store.message(d.workspace_id, d.message_id).await? else {
        return Ok(None);
    };
    let mut files = vec![];
    let metas = svc
        .store
        .attachments_of(&[m.id])
        .await?
        .remove(&m.id)
        .unwrap_or_default();
    for a in metas {
        let (meta, data) = svc.store.attachment(d.workspace_id, a.id, &a.secret).await?;
        files.push((meta.name, meta.content_type, data));
    }
    Ok(Some((m.body, files)))
}

async fn to_telegram(svc: &Services, c: &Connection, d: &Delivery) -> Result<()> {
    let Some((text, files)) = reply_of(svc, d).await? else {
        return svc.store.delivery_failed(d.id, "the reply is gone").await;
    };
    let bot = bot_of(c);
    let mut parts: Vec<Part> = vec![];
    // Telegram takes 4096 characters a message: a longer reply goes in pieces.
    let chars: Vec<char> = text.trim().chars().collect();
    parts.extend(chars.chunks(TEXT_PIECE).map(|c| Part::Text(c.iter().collect())));
    parts.extend(files.into_iter().map(Part::File));
    for (i, part) in parts.into_iter().enumerate().skip(d.parts_sent as usize) {
        let sent = match part {
            Part::Text(t) => bot.send_message(&d.recipient, &t).await,
            Part::File((name, ct, data)) => {
                let photo = matches!(ct.as_str(), "image/jpeg" | "image/png" | "image/gif" | "image/webp");
                bot.send_file(&d.recipient, photo, &name, &ct, data).await
            }
        };
        match sent {
            Ok(()) => svc.store.delivery_progress(d.id, i as i64 + 1).await?,
            Err(e) => return telegram_refused(svc, d, e).await,
        }
    }
    svc.store.delivery_sent(d.id).await
}

enum Part {
    Text(String),
    File((String, String, Vec<u8>)),
}

/// Honours what Telegram said: wait as asked (429), stop for a blocked bot
/// (403) or a request it will never take (400), retry the rest.
async fn telegram_refused(svc: &Services, d: &Delivery, e: TgError) -> Result<()> {
    tracing::info!(delivery = d.id, error = %e, "Telegram did not take a reply");
    match &e {
        TgError::Refused {
            retry_after: Some(s), ..
        } => {
            svc.messenger_delivery_retry(d, (*s as i64).clamp(1, 3600) * 1000, &e.to_string(), false)
                .await
        }
        _ if e.is_blocked() => {
            svc.messenger_delivery_failed(
                d,
                "Telegram: the customer blocked the bot, so this reply was not delivered.",
            )
            .await
        }
        TgError::Refused { code: 400 | 404, .. } => {
            svc.messenger_delivery_failed(d, &format!("Telegram: this reply was not delivered ({e})."))
                .await
        }
        _ => retry_or_give_up(svc, d, &e.to_string()).await,
    }
}

async fn retry_or_give_up(svc: &Services, d: &Delivery, why: &str) -> Result<()> {
    if d.attempts + 1 >= MAX_ATTEMPTS {
        svc.messenger_delivery_failed(
            d,
            &format!("This reply was not delivered after {MAX_ATTEMPTS} tries: {why}"),
        )
        .await
    } else {
        svc.messenger_delivery_retry(d, backoff_ms(d.attempts), why, true).await
    }
}

/// POSTs a reply to a gateway, signed as it signs what it sends us, through
/// the webhooks' client (no redirects, public addresses only unless the
/// node allows private ones, a capped read of the answer).
async fn to_gateway(svc: &Services, http: &reqwest::Client, c: &Connection, d: &Delivery) -> Result<()> {
    let Some((text, files)) = reply_of(svc, d).await? else {
        return svc.store.delivery_failed(d.id, "the reply is gone").await;
    };
    let number = svc.store.ticket_unchecked(d.workspace_id, d.ticket_id).await?.number;
    let names: Vec<_> = files
        .iter()
        .map(|f| serde_json::json!({ "name": f.0, "content_type": f.1 }))
        .collect();
    let body = serde_json::json!({
        "id": d.message_id.to_string(),
        "to": { "id": d.recipient },
        "text": text,
        "ticket": number,
        "attachments": names,
    })
    .to_string();
    let ts = now_ms() / 1000;
    let sig = signature::sign(c.secret.as_bytes(), &signature::signed_bytes(ts, body.as_bytes()));
    let url = c.outbound_url.as_deref().unwrap_or_default();
    let headers = vec![
        (signature::TIMESTAMP_HEADER, ts.to_string()),
        (signature::HEADER, sig),
        ("x-storedesk-delivery", d.id.to_string()),
    ];
    let attempt = crate::webhooks::client::post(http, &svc.webhooks, url, headers, body.into_bytes()).await;
    if attempt.ok {
        return svc.store.delivery_sent(d.id).await;
    }
    let why = match (attempt.status, attempt.error) {
        (Some(code), _) => format!("the gateway answered HTTP {code}"),
        (None, Some(e)) => format!("the gateway was not reached: {e}"),
        (None, None) => "the gateway was not reached".to_string(),
    };
    retry_or_give_up(svc, d, &why).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(super::backoff_ms(0), 1000);
        assert_eq!(super::backoff_ms(3), 8000);
        assert_eq!(super::backoff_ms(40), 3_600_000);
        let waited: i64 = (0..super::MAX_ATTEMPTS - 1).map(super::backoff_ms).sum();
        assert!((23 * 3_600_000..=25 * 3_600_000).contains(&waited), "{waited}");
    }
}
