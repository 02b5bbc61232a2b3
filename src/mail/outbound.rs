//! The outbox sender: takes due mails, sends them through the relay,
//! records the outcome. Retries back off from 30 s to 6 h; after 8 tries a
//! mail is marked failed. A mail keeps its Message-ID across retries, so a
//! crash between sending and recording makes at worst a duplicate that
//! mail clients fold into one.

use std::time::Duration;

use lettre::message::{header, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{MailConfig, Relay, Tls};
use crate::store::mail::OutboxRow;
use crate::store::Store;

const MAX_ATTEMPTS: i64 = 8;

fn transport(r: &Relay) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    let b = match r.tls {
        Tls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&r.host),
        Tls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&r.host)?,
        Tls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&r.host)?,
    };
    let b = b.port(r.port).timeout(Some(Duration::from_secs(30)));
    let b = match &r.credentials {
        Some((u, p)) => b.credentials(Credentials::new(u.clone(), p.clone())),
        None => b,
    };
    Ok(b.build())
}

fn backoff(attempts: i64) -> i64 {
    (30_000i64 << attempts.clamp(0, 10)).min(6 * 3600 * 1000)
}

/// Builds the mail for an outbox row: from the workspace's support address,
/// replies to its ticket address, threaded to what it answers.
pub fn compose(row: &OutboxRow, domain: &str) -> Result<Message, String> {
    let support: Mailbox = format!("{} <{}@{}>", row.workspace_name.replace(['<', '>', '"'], ""), row.slug, domain).parse().map_err(|e| format!("from: {e}"))?;
    let to: Mailbox = row.to_addr.parse().map_err(|e| format!("to: {e}"))?;
    let mut b = Message::builder().from(support.clone()).to(to).subject(&row.subject);
    if let Some(token) = &row.reply_token {
        let reply: Mailbox = format!("{}+{}@{}", row.slug, token, domain).parse().map_err(|e| format!("reply-to: {e}"))?;
        b = b.reply_to(reply);
    }
    let id = row.header_id.clone().unwrap_or_else(|| format!("{}outbox.{}", crate::store::mail::OWN_ID_PREFIX, row.id));
    b = b.message_id(Some(format!("<{id}@{domain}>")));
    if let Some(irt) = &row.in_reply_to {
        b = b.in_reply_to(format!("<{irt}>")).references(format!("<{irt}>"));
    }
    // Mark our mail as automatic only where it is (confirmations), so a
    // customer's auto-responder does not answer it.
    if row.kind == "confirmation" {
        b = b.header(AutoSubmitted);
    }
    let html = row.html.clone().unwrap_or_else(|| format!("<div dir=\"auto\" style=\"white-space:pre-wrap\">{}</div>", escape(&row.body)));
    b.multipart(MultiPart::alternative_plain_html(row.body.clone(), html)).map_err(|e| e.to_string())
}

#[derive(Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Sends what is due, then waits a moment; runs until the process ends.
pub async fn run(store: Store, config: MailConfig) {
    let Some(relay) = config.relay.clone() else { return };
    let transport = match transport(&relay) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, ?relay, "cannot use the SMTP relay; mail stays in the outbox");
            return;
        }
    };
    loop {
        match store.claim_outbox(20).await {
            Ok(rows) if !rows.is_empty() => {
                for row in rows {
                    let outcome = match compose(&row, &config.domain) {
                        Ok(m) => transport.send(m).await.map(|_| ()).map_err(|e| (e.to_string(), e.is_permanent())),
                        Err(e) => Err((e, true)),
                    };
                    let record = match outcome {
                        Ok(()) => {
                            metrics::counter!("storedesk_mail_sent_total", "kind" => row.kind.clone()).increment(1);
                            Ok(())
                        }
                        Err((e, permanent)) => {
                            tracing::warn!(error = %e, outbox_id = row.id, attempts = row.attempts + 1, "mail not sent");
                            let give_up = permanent || row.attempts + 1 >= MAX_ATTEMPTS;
                            Err((e, if give_up { None } else { Some(crate::store::now_ms() + backoff(row.attempts)) }))
                        }
                    };
                    if let Err(e) = store.finish_outbox(row.id, record).await {
                        tracing::warn!(error = %e, "outbox state not recorded; the mail may go twice");
                    }
                }
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            Err(e) => {
                tracing::warn!(error = %e, "outbox not readable");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(super::backoff(0), 30_000);
        assert_eq!(super::backoff(1), 60_000);
        assert_eq!(super::backoff(20), 6 * 3600 * 1000);
    }
}
