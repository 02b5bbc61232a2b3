//! The outbox sender: takes due mails, sends them through the relay,
//! records the outcome. Retries back off from 30 s to 6 h; after 8 tries a
//! mail is marked failed. A mail keeps its Message-ID across retries, so a
//! crash between sending and recording makes at worst a duplicate that
//! mail clients fold into one.

use std::time::Duration;

use lettre::message::{header, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use std::collections::HashMap;

use super::{MailConfig, Relay, Tls};
use crate::store::mail::OutboxRow;
use crate::store::mail_settings::MailSettings;
use crate::store::Store;

const MAX_ATTEMPTS: i64 = 8;

/// Stands for the installation's address in a survey mail's links: the
/// node that queues the mail (a consumer, the timers) does not know it,
/// the sender does.
pub const PUBLIC_URL: &str = "{{storedesk:public_url}}";

/// Mails whose body carries one-click links (the survey scores).
fn has_links(kind: &str) -> bool {
    matches!(kind, "csat" | "nps")
}

pub(super) fn transport(r: &Relay) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
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
/// A workspace with an address of its own sends from it and takes replies
/// there (its mailbox may not know plus-addresses; threading then goes by
/// In-Reply-To and the subject's number).
pub fn compose(
    row: &OutboxRow,
    domain: &str,
    public_url: Option<&str>,
    settings: &MailSettings,
    files: &[(String, String, Vec<u8>)],
) -> Result<Message, String> {
    let name = row.workspace_name.replace(['<', '>', '"'], "");
    let own = (!settings.address.is_empty()).then_some(settings.address.as_str());
    let from_addr = settings.sender(&row.slug, domain);
    let support: Mailbox = format!("{name} <{from_addr}>")
        .parse()
        .map_err(|e| format!("from: {e}"))?;
    let to: Mailbox = row.to_addr.parse().map_err(|e| format!("to: {e}"))?;
    let mut b = Message::builder().from(support.clone()).to(to).subject(&row.subject);
    let reply_addr = match (own, &row.reply_token) {
        (Some(a), _) => Some(a.to_string()),
        (None, Some(token)) => Some(format!("{}+{}@{}", row.slug, token, domain)),
        (None, None) => None,
    };
    if let Some(r) = reply_addr {
        b = b.reply_to(format!("{name} <{r}>").parse().map_err(|e| format!("reply-to: {e}"))?);
    }
    let id = row
        .header_id
        .clone()
        .unwrap_or_else(|| format!("{}outbox.{}", crate::store::mail::OWN_ID_PREFIX, row.id));
    b = b.message_id(Some(format!("<{id}@{domain}>")));
    if let Some(irt) = &row.in_reply_to {
        b = b.in_reply_to(format!("<{irt}>")).references(format!("<{irt}>"));
    }
    // Mark our mail as automatic only where it is (confirmations), so a
    // customer's auto-responder does not answer it.
    if row.kind == "confirmation" || has_links(&row.kind) {
        b = b.header(AutoSubmitted);
    }
    let mut text = if has_links(&row.kind) {
        row.body
            .replace(PUBLIC_URL, public_url.unwrap_or("").trim_end_matches('/'))
    } else {
        row.body.clone()
    };
    if let (Some(base), Some(link)) = (public_url, &row.ticket_link) {
        let url = format!("{}/p/{}/t/{link}", base.trim_end_matches('/'), row.slug);
        let lang = crate::i18n::pick(Some(&settings.language));
        text.push_str(&format!(
            "\n\n{}\n",
            crate::i18n::text(lang, "mail-ticket-link", &[("url", &url)])
        ));
    }
    let html = row.html.clone().unwrap_or_else(|| {
        let inner = if has_links(&row.kind) {
            linked(&text)
        } else {
            crate::sanitize::escape(&text)
        };
        format!("<div dir=\"auto\" style=\"white-space:pre-wrap\">{inner}</div>")
    });
    let body = MultiPart::alternative_plain_html(text, html);
    if files.is_empty() {
        return b.multipart(body).map_err(|e| e.to_string());
    }
    // The files an agent attached to the reply travel with it.
    let mut mixed = MultiPart::mixed().multipart(body);
    for (name, ct, data) in files {
        let ct = lettre::message::header::ContentType::parse(ct)
            .unwrap_or(lettre::message::header::ContentType::parse("application/octet-stream").expect("a valid type"));
        mixed = mixed.singlepart(lettre::message::Attachment::new(name.clone()).body(data.clone(), ct));
    }
    b.multipart(mixed).map_err(|e| e.to_string())
}

/// Text as HTML with its web addresses made links, so a score is one
/// click in mail programs that show the HTML part.
fn linked(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (j, word) in line.split(' ').enumerate() {
            if j > 0 {
                out.push(' ');
            }
            let url = crate::sanitize::escape(word);
            if word.starts_with("https://") || word.starts_with("http://") {
                out.push_str(&format!("<a href=\"{url}\">{url}</a>"));
            } else {
                out.push_str(&url);
            }
        }
    }
    out
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

/// Sends what is due, then waits a moment; runs until the process ends.
pub async fn run(store: Store, config: MailConfig) {
    let mut transports: HashMap<Relay, AsyncSmtpTransport<Tokio1Executor>> = HashMap::new();
    let mut marked_at: Option<std::time::Instant> = None;
    loop {
        // Without a relay of our own, mail of workspaces without one waits:
        // say so on it, for the ticket page and the outbox.
        if config.relay.is_none() && marked_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            marked_at = Some(std::time::Instant::now());
            if let Err(e) = store.mark_waiting_for_relay().await {
                tracing::warn!(error = %e, "waiting mail not marked");
            }
        }
        match store.claim_outbox(20, config.relay.is_none()).await {
            Ok(rows) if !rows.is_empty() => {
                for row in rows {
                    let files = match row.message_id {
                        Some(m) => store.attachment_data(row.workspace_id, m).await.unwrap_or_else(|e| {
                            tracing::warn!(error = %e, outbox_id = row.id, "attachments not read; sending without them");
                            vec![]
                        }),
                        None => vec![],
                    };
                    let settings: MailSettings = row
                        .mail_settings
                        .as_deref()
                        .and_then(|m| serde_json::from_str(m).ok())
                        .unwrap_or_default();
                    let relay = if settings.relay.is_empty() {
                        config.relay.clone()
                    } else {
                        settings.relay.parse::<Relay>().ok()
                    };
                    let outcome = match (
                        relay,
                        compose(&row, &config.domain, config.public_url.as_deref(), &settings, &files),
                    ) {
                        (None, _) => Err(("no relay for this workspace".to_string(), false)),
                        (_, Err(e)) => Err((e, true)),
                        (Some(relay), Ok(m)) => {
                            if !transports.contains_key(&relay) {
                                match transport(&relay) {
                                    Ok(t) => {
                                        transports.insert(relay.clone(), t);
                                    }
                                    Err(e) => tracing::error!(error = %e, ?relay, "cannot use this SMTP relay"),
                                }
                            }
                            match transports.get(&relay) {
                                Some(t) => t
                                    .send(m)
                                    .await
                                    .map(|_| ())
                                    .map_err(|e| (e.to_string(), e.is_permanent())),
                                None => Err(("the relay cannot be used".to_string(), false)),
                            }
                        }
                    };
                    let record = match outcome {
                        Ok(()) => {
                            metrics::counter!("storedesk_mail_sent_total", "kind" => row.kind.clone()).increment(1);
                            Ok(())
                        }
                        Err((e, permanent)) => {
                            tracing::warn!(error = %e, outbox_id = row.id, attempts = row.attempts + 1, "mail not sent");
                            let give_up = permanent || row.attempts + 1 >= MAX_ATTEMPTS;
                            Err((
                                e,
                                if give_up {
                                    None
                                } else {
                                    Some(crate::store::now_ms() + backoff(row.attempts))
                                },
                            ))
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
    fn survey_links_become_anchors() {
        let html = super::linked("Rate us <3\n5 – Great: http://h.test/p/s/nps/t?score=5");
        assert!(html.contains("Rate us &lt;3\n"), "{html}");
        assert!(html.contains("<a href=\"http://h.test/p/s/nps/t?score=5\">"), "{html}");
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(super::backoff(0), 30_000);
        assert_eq!(super::backoff(1), 60_000);
        assert_eq!(super::backoff(20), 6 * 3600 * 1000);
    }
}
