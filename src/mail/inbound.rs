//! Mail coming in: from the SMTP listener (or any other source of raw
//! messages) to a ticket. Parsing is lenient; what cannot be stored is
//! refused with a temporary error so the sending server tries again.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::smtp_server::{Envelope, Handler, Reply};
use crate::channels::email::parse::{self, AutoKind, ParsedMail};
use crate::cpu::Overrun;
use crate::domain::Email;
use crate::store::mail::{InboundMail, Ingested};
use crate::store::StoreError;

/// What became of one message for one workspace.
#[derive(Debug)]
pub enum Outcome {
    Ingested(Box<Ingested>),
    Bounce(Vec<String>),
    /// Not filed, and why (our own mail looping back, no sender...).
    Dropped(&'static str),
}

/// A mail may take this long to read (parse, sanitise, find its text);
/// past it, it is filed unread for review.
const READ_BUDGET: Duration = Duration::from_secs(10);

/// Tickets filed from mail nobody could read, or from an unknown sender,
/// carry this label so that someone looks at the raw mail.
pub const REVIEW_LABEL: &str = "needs-review";

/// Stands in for a sender when neither the headers nor the envelope name one
/// (`.invalid` is reserved: nothing is ever delivered there).
const UNKNOWN_SENDER: &str = "unknown-sender@sender.invalid";

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("every mail reader stayed busy; try again later")]
    Busy,
}

/// A message as far as it could be read: None when it has no headers or
/// took longer than the budget to read.
pub struct Read {
    pub raw: Arc<Vec<u8>>,
    pub parsed: Option<ParsedMail>,
}

/// Parses a raw message off the async workers, within the budget.
pub async fn read(raw: Vec<u8>) -> Result<Read, IngestError> {
    let raw = Arc::new(raw);
    let input = raw.clone();
    let parsed = match crate::cpu::run(READ_BUDGET, move || parse::parse(&input)).await {
        Ok(p) => p,
        Err(Overrun::Busy) => return Err(IngestError::Busy),
        Err(Overrun::Slow) => {
            tracing::warn!(bytes = raw.len(), "mail took too long to read; filed unread for review");
            None
        }
    };
    Ok(Read { raw, parsed })
}

#[derive(Clone)]
pub struct Inbound {
    pub svc: crate::service::Services,
    pub domain: String,
}

impl Inbound {
    /// Files a raw message sent to `rcpt` (one of our addresses).
    pub async fn ingest(&self, mail_from: &str, rcpt: &str, raw: &[u8]) -> Result<Outcome, IngestError> {
        let read = read(raw.to_vec()).await?;
        Ok(self.file(mail_from, rcpt, &read).await?)
    }

    /// Files a message already read. Whatever arrived is kept: a mail whose
    /// sender cannot be read is filed under the envelope sender, and one
    /// nobody can read at all under a stand-in, flagged for review.
    pub async fn file(&self, mail_from: &str, rcpt: &str, read: &Read) -> Result<Outcome, StoreError> {
        let Some(slug) = parse::slug_of(rcpt, &self.domain) else {
            return Ok(Outcome::Dropped("not one of our addresses"));
        };
        let ws = self.svc.store.workspace_by_slug(&slug).await?;
        let raw = &read.raw[..];
        let header_id = read
            .parsed
            .as_ref()
            .and_then(|p| p.message_id.clone())
            .filter(|m| !m.is_empty() && m.len() < 500)
            .unwrap_or_else(|| format!("nomid.{}", &hex::encode(Sha256::digest(raw))[..32]));
        let m = match &read.parsed {
            Some(p) => {
                if let AutoKind::Bounce { failed } = &p.auto {
                    self.svc.store.record_bounce(ws.id, failed, &header_id, raw).await?;
                    return Ok(Outcome::Bounce(failed.clone()));
                }
                let header_sender = p
                    .reply_to
                    .iter()
                    .chain(p.from.iter())
                    .find_map(|m| Email::parse("from", &m.address).ok());
                let (from, review) = match header_sender.or_else(|| Email::parse("from", mail_from).ok()) {
                    Some(f) => (f, false),
                    None => (unknown_sender(), true),
                };
                let own = self.svc.store.mail_settings(ws.id).await?.address;
                if parse::slug_of(from.as_str(), &self.domain).is_some()
                    || (!own.is_empty() && own.eq_ignore_ascii_case(from.as_str()))
                {
                    return Ok(Outcome::Dropped("our own address: a loop"));
                }
                let text = if p.visible_text.trim().is_empty() {
                    p.text.clone()
                } else {
                    p.visible_text.clone()
                };
                let text = if text.trim().is_empty() {
                    "(no text)".to_string()
                } else {
                    text.chars().take(crate::domain::ticket::BODY_MAX).collect()
                };
                let mut refs = p.in_reply_to.clone();
                refs.extend(p.references.iter().rev().cloned());
                InboundMail {
                    header_id,
                    refs,
                    subject: parse::clean_subject(&p.subject),
                    from,
                    // The display name only when it came with the address used.
                    from_name: p
                        .from
                        .as_ref()
                        .filter(|m| !review && Email::parse("from", &m.address).is_ok())
                        .and_then(|m| m.name.clone())
                        .map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect()),
                    text,
                    html: p.html.clone(),
                    attachments: p
                        .attachments
                        .iter()
                        .filter(|a| !a.data.is_empty())
                        .map(|a| (a.name.clone(), a.content_type.clone(), a.data.clone()))
                        .collect(),
                    automatic: review || p.auto != AutoKind::Human,
                    ticket_number: parse::ticket_ref(&p.subject),
                    reply_token: parse::reply_token(rcpt, &slug, &self.domain),
                    labels: if review { vec![REVIEW_LABEL.into()] } else { vec![] },
                    mail_from: mail_from.to_string(),
                    rcpt: rcpt.to_string(),
                    raw: raw.to_vec(),
                }
            }
            None => InboundMail {
                header_id,
                refs: vec![],
                subject: "(a mail that could not be read)".into(),
                from: Email::parse("from", mail_from).unwrap_or_else(|_| unknown_sender()),
                from_name: None,
                text: "This mail could not be read. The original is kept as it arrived, for review.".into(),
                html: None,
                attachments: vec![],
                // Never answer an address nobody could read.
                automatic: true,
                ticket_number: None,
                reply_token: parse::reply_token(rcpt, &slug, &self.domain),
                labels: vec![REVIEW_LABEL.into()],
                mail_from: mail_from.to_string(),
                rcpt: rcpt.to_string(),
                raw: raw.to_vec(),
            },
        };
        let r = self.svc.ingest_mail(&ws, m).await?;
        let outcome = match &r {
            Ingested::Created(..) => "created",
            Ingested::Appended(..) => "appended",
            Ingested::Duplicate => "duplicate",
        };
        metrics::counter!("storedesk_mail_received_total", "outcome" => outcome).increment(1);
        Ok(Outcome::Ingested(Box::new(r)))
    }
}

fn unknown_sender() -> Email {
    Email::parse("from", UNKNOWN_SENDER).expect("a valid address")
}

impl Handler for Inbound {
    async fn recipient(&self, address: &str) -> Result<(), Reply> {
        let Some(slug) = parse::slug_of(address, &self.domain) else {
            return Err((550, "5.1.1 no such mailbox here".into()));
        };
        match self.svc.store.workspace_by_slug(&slug).await {
            // Never lost silently: a suspended workspace's mail waits at the
            // sender's server (a temporary refusal is retried for days, and
            // bounced to the sender if it never resumes); a plan without
            // e-mail refuses for good, so the sender is told at once.
            Ok(ws) => match self.svc.require(ws.id, crate::domain::plan::Feature::Email).await {
                Ok(()) => Ok(()),
                Err(e) if e.code == "workspace_suspended" => {
                    Err((450, "4.7.1 this help desk is paused; try again later".into()))
                }
                Err(e) if e.code == "plan_feature_missing" => {
                    Err((550, "5.7.1 this help desk does not take e-mail".into()))
                }
                Err(_) => Err((451, "4.3.0 try again later".into())),
            },
            Err(StoreError::NotFound) => Err((550, "5.1.1 no such mailbox here".into())),
            Err(e) => {
                tracing::warn!(error = %e, "recipient check failed");
                Err((451, "4.3.0 try again later".into()))
            }
        }
    }

    async fn message(&self, env: Envelope) -> Reply {
        let mut rcpts = env.rcpt_to.clone();
        rcpts.sort();
        rcpts.dedup_by_key(|r| parse::slug_of(r, &self.domain));
        let read = match read(env.data).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "mail not read; asking the sender to retry");
                return (451, "4.3.0 busy, try again later".into());
            }
        };
        for rcpt in rcpts {
            if let Err(e) = self.file(&env.mail_from, &rcpt, &read).await {
                tracing::warn!(error = %e, "mail not stored; asking the sender to retry");
                return (451, "4.3.0 not stored, try again later".into());
            }
        }
        (250, "2.0.0 stored".into())
    }
}
