//! The outbox feeder's writes: turns a page of events into mail, in one
//! transaction with the feeder's new position, so a page is delivered once
//! even when it is read twice.

use super::events::advance_in;
use super::mail::{mail_language, queue_in, OutMail};
use super::tickets::load_ticket;
use super::*;
use crate::domain::delivery::{for_event, Delivery};
use crate::domain::event::Event;
use crate::domain::Email;

impl Store {
    /// Queues the mail `events` call for and moves consumer `name` past
    /// them, only while `owner` holds its lease. Returns false (and writes
    /// nothing) when the lease was lost.
    pub async fn deliver_events(&self, name: &str, owner: &str, events: &[std::sync::Arc<Event>]) -> Result<bool> {
        let Some(last) = events.last() else { return Ok(true) };
        let mut tx = self.write.begin().await?;
        // First: it takes the consumer's row lock, so a node that lost the
        // lease waits here and then finds it gone.
        if !advance_in(&mut tx, name, owner, last.id).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        for e in events {
            let (Some(d), Some(ticket_id), Some(message_id)) = (for_event(e), e.ticket_id, e.message_id) else {
                continue;
            };
            let t = match load_ticket(&mut tx, e.workspace_id, ticket_id, false).await {
                Ok(t) => t,
                Err(StoreError::NotFound) => continue,
                Err(err) => return Err(err),
            };
            let Some(to) = t.contact.email.as_deref().and_then(|a| Email::parse("email", a).ok()) else {
                continue;
            };
            let (body, external_id): (String, Option<String>) =
                match sqlx::query_as("SELECT body, external_id FROM messages WHERE id = $1 AND workspace_id = $2")
                    .bind(message_id)
                    .bind(e.workspace_id)
                    .fetch_optional(&mut *tx)
                    .await?
                {
                    Some(m) => m,
                    None => continue,
                };
            let lang = mail_language(&mut tx, e.workspace_id).await?;
            let footer = || crate::i18n::text(&lang, "mail-reply-footer", &[]);
            let (subject, body, in_reply_to) = match d {
                Delivery::ReplyMail => {
                    let last: Option<String> = sqlx::query_scalar("SELECT header_id FROM mail_threads WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY created_at DESC LIMIT 1").bind(t.workspace_id).bind(t.id).fetch_optional(&mut *tx).await?;
                    (format!("Re: {} [#{}]", t.subject, t.number), body, last)
                }
                Delivery::ChatFollowUp => {
                    // Only when the visitor is not there to read it.
                    let online: Option<i64> =
                        sqlx::query_scalar("SELECT MAX(online) FROM chat_visitors WHERE contact_id = $1")
                            .bind(t.contact.id)
                            .fetch_one(&mut *tx)
                            .await?;
                    if online.unwrap_or(0) != 0 {
                        continue;
                    }
                    (
                        format!("Re: {} [#{}]", t.subject, t.number),
                        format!("{body}\n\n--\n{}", footer()),
                        None,
                    )
                }
                Delivery::Confirmation => {
                    let subject = crate::i18n::text(
                        &lang,
                        "mail-confirmation-subject",
                        &[("number", &t.number.to_string()), ("subject", &t.subject)],
                    );
                    let in_reply_to = external_id
                        .as_deref()
                        .and_then(|x| x.strip_prefix("email:"))
                        .map(str::to_string);
                    let mut body = super::mail::confirmation_text(&t, &lang);
                    // Out of hours the confirmation says when the team is back.
                    let cal = self.calendar(t.workspace_id, t.team_id).await?;
                    let now = now_ms();
                    if let Some(at) = cal.next_opening(now).filter(|at| *at > now) {
                        let (when, zone) = crate::domain::time::local(at, &cal.time_zone);
                        let back = crate::i18n::text(&lang, "mail-back-at", &[("when", &when), ("zone", &zone)]);
                        body = format!("{body}\n\n{back}");
                    }
                    (subject, body, in_reply_to)
                }
            };
            let mail = OutMail {
                workspace_id: t.workspace_id,
                kind: d.outbox_kind(),
                ticket_id: Some(t.id),
                message_id: Some(message_id),
                to: &to,
                subject: &subject,
                body: &body,
                in_reply_to: in_reply_to.as_deref(),
            };
            queue_in(&mut tx, &mail).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
