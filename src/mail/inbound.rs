//! Mail coming in: from the SMTP listener (or any other source of raw
//! messages) to a ticket. Parsing is lenient; what cannot be stored is
//! refused with a temporary error so the sending server tries again.

use sha2::{Digest, Sha256};

use super::smtp_server::{Envelope, Handler, Reply};
use crate::channels::email::parse::{self, AutoKind};
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

#[derive(Clone)]
pub struct Inbound {
    pub svc: crate::service::Services,
    pub domain: String,
}

impl Inbound {
    /// Files a raw message sent to `rcpt` (one of our addresses).
    pub async fn ingest(&self, mail_from: &str, rcpt: &str, raw: &[u8]) -> Result<Outcome, StoreError> {
        let Some(slug) = parse::slug_of(rcpt, &self.domain) else {
            return Ok(Outcome::Dropped("not one of our addresses"));
        };
        let ws = self.svc.store.workspace_by_slug(&slug).await?;
        let Some(p) = parse::parse(raw) else {
            return Ok(Outcome::Dropped("not a mail message"));
        };
        let header_id = p
            .message_id
            .clone()
            .filter(|m| !m.is_empty() && m.len() < 500)
            .unwrap_or_else(|| format!("nomid.{}", &hex::encode(Sha256::digest(raw))[..32]));
        if let AutoKind::Bounce { failed } = &p.auto {
            self.svc.store.record_bounce(ws.id, failed, &header_id, raw).await?;
            return Ok(Outcome::Bounce(failed.clone()));
        }
        let Some(from) = p
            .reply_to
            .as_ref()
            .or(p.from.as_ref())
            .and_then(|m| Email::parse("from", &m.address).ok())
        else {
            return Ok(Outcome::Dropped("no sender address"));
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
        let m = InboundMail {
            header_id,
            refs,
            subject: parse::clean_subject(&p.subject),
            from,
            from_name: p
                .from
                .as_ref()
                .and_then(|m| m.name.clone())
                .map(|n| n.chars().take(200).collect()),
            text,
            html: p.html.clone(),
            attachments: p
                .attachments
                .iter()
                .filter(|a| !a.data.is_empty())
                .map(|a| (a.name.clone(), a.content_type.clone(), a.data.clone()))
                .collect(),
            automatic: p.auto != AutoKind::Human,
            ticket_number: parse::ticket_ref(&p.subject),
            reply_token: parse::reply_token(rcpt, &slug, &self.domain),
            mail_from: mail_from.to_string(),
            rcpt: rcpt.to_string(),
            raw: raw.to_vec(),
        };
        let r = self.svc.ingest_mail(&ws, m).await?;
        match &r {
            Ingested::Created(..) => {
                metrics::counter!("storedesk_mail_received_total", "outcome" => "created").increment(1)
            }
            Ingested::Appended(..) => {
                metrics::counter!("storedesk_mail_received_total", "outcome" => "appended").increment(1)
            }
            Ingested::Duplicate => {
                metrics::counter!("storedesk_mail_received_total", "outcome" => "duplicate").increment(1)
            }
        }
        Ok(Outcome::Ingested(Box::new(r)))
    }
}

impl Handler for Inbound {
    async fn recipient(&self, address: &str) -> Result<(), Reply> {
        let Some(slug) = parse::slug_of(address, &self.domain) else {
            return Err((550, "5.1.1 no such mailbox here".into()));
        };
        match self.svc.store.workspace_by_slug(&slug).await {
            Ok(_) => Ok(()),
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
        for rcpt in rcpts {
            if let Err(e) = self.ingest(&env.mail_from, &rcpt, &env.data).await {
                tracing::warn!(error = %e, "mail not stored; asking the sender to retry");
                return (451, "4.3.0 not stored, try again later".into());
            }
        }
        (250, "2.0.0 stored".into())
    }
}
