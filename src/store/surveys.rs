//! Satisfaction surveys in the store: asking (a CSAT row per resolved
//! ticket, its mail, an NPS survey planned under the frequency cap) with
//! the surveys consumer's position, sending due NPS surveys, and recording
//! answers with their events.

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::events::advance_in;
use super::mail::{mail_language, queue_in, OutMail};
use super::tickets::load_ticket;
use super::*;
use crate::domain::event::{Event, EventActor, EventType, NewEvent};
use crate::domain::reports::Settings;
use crate::domain::survey::Survey;
use crate::domain::{Channel, Email, Status};
use crate::mail::outbound::PUBLIC_URL;

/// A ticket's CSAT question and answer.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Csat {
    #[serde(skip)]
    pub ticket_id: i64,
    #[serde(skip)]
    pub contact_id: i64,
    #[serde(skip)]
    pub agent_id: Option<i64>,
    pub score: Option<i64>,
    pub comment: String,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub asked_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub answered_at: Option<i64>,
    /// How it was asked: `mail` or `chat`.
    pub asked_via: String,
    /// How it was answered (null until then).
    #[serde(rename = "via")]
    pub answered_via: Option<String>,
}

/// An NPS survey as its page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Nps {
    pub id: i64,
    pub contact_id: i64,
    pub ticket_id: Option<i64>,
    pub score: Option<i64>,
    pub comment: String,
}

/// A resolution the surveys consumer found, with its workspace's settings.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub workspace_id: i64,
    pub ticket_id: i64,
    pub settings: Settings,
}

/// A CSAT question for a chat's visitor, to be put to their widget.
#[derive(Debug, Clone)]
pub struct ChatAsk {
    pub workspace_id: i64,
    pub contact_id: i64,
    pub ticket_number: i64,
}

/// A customer's answer: a score (None keeps the one given), a comment
/// (None keeps the one left).
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub score: Option<i64>,
    pub comment: Option<String>,
}

const CSAT_COLS: &str =
    "ticket_id, contact_id, agent_id, score, comment, asked_at, answered_at, asked_via, answered_via";
const NPS_COLS: &str = "id, contact_id, ticket_id, score, comment";

impl Store {
    /// Asks about each resolution (once per ticket: the CSAT row is the
    /// guard), together with the consumer's new position and only while
    /// `owner` holds its lease. None when the lease was lost; else the
    /// questions for chat visitors, to be sent to their widgets.
    pub async fn ask_surveys(
        &self,
        name: &str,
        owner: &str,
        position: i64,
        resolved: &[Resolved],
    ) -> Result<Option<Vec<ChatAsk>>> {
        // Links first: their key may need a read, which must not wait
        // behind this transaction's hold on SQLite's one writer.
        let mut links = std::collections::HashMap::new();
        for r in resolved.iter().filter(|r| r.settings.csat) {
            links.insert(r.ticket_id, self.ticket_link(r.ticket_id).await?);
        }
        let mut tx = self.write.begin().await?;
        // First: the consumer's row lock also keeps two planners of NPS
        // surveys (an old holder and a new one) from passing the cap together.
        if !advance_in(&mut tx, name, owner, position).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let now = now_ms();
        let mut chat = Vec::new();
        for r in resolved {
            let t = match load_ticket(&mut tx, r.workspace_id, r.ticket_id, false).await {
                Ok(t) => t,
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            // Reopened before we got to it: nothing to rate yet.
            if !matches!(t.status, Status::Resolved | Status::Closed) {
                continue;
            }
            let email = t.contact.email.as_deref().and_then(|a| Email::parse("email", a).ok());
            if let (true, Some(link)) = (r.settings.csat, links.get(&t.id)) {
                if let Some(ask) = ask_csat(&mut tx, &t, email.as_ref(), link, now).await? {
                    chat.push(ask);
                }
            }
            if let (true, Some(_)) = (r.settings.nps, &email) {
                plan_nps(&mut tx, &t, &r.settings, now).await?;
            }
        }
        tx.commit().await?;
        Ok(Some(chat))
    }

    /// A ticket's CSAT, when it was asked.
    pub async fn csat(&self, workspace_id: i64, ticket_id: i64) -> Result<Option<Csat>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CSAT_COLS} FROM csat_responses WHERE workspace_id = $1 AND ticket_id = $2"
        ))
        .bind(workspace_id)
        .bind(ticket_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The visitor's newest chat whose rating is asked and not given, while
    /// it is still done and recent: (ticket id, number).
    pub async fn pending_chat_csat(
        &self,
        workspace_id: i64,
        contact_id: i64,
        since: i64,
    ) -> Result<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT t.id, t.number FROM tickets t JOIN csat_responses c ON c.ticket_id = t.id \
             WHERE t.workspace_id = $1 AND t.contact_id = $2 AND t.channel = 'chat' AND t.status IN ('resolved', 'closed') \
             AND c.asked_via = 'chat' AND c.score IS NULL AND c.asked_at > $3 ORDER BY t.id DESC LIMIT 1",
        )
        .bind(workspace_id)
        .bind(contact_id)
        .bind(since)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The ticket of a contact's that has the number, when its rating was asked.
    pub async fn csat_ticket_of(&self, workspace_id: i64, contact_id: i64, number: i64) -> Result<i64> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT t.id FROM tickets t JOIN csat_responses c ON c.ticket_id = t.id \
             WHERE t.workspace_id = $1 AND t.contact_id = $2 AND t.number = $3",
        )
        .bind(workspace_id)
        .bind(contact_id)
        .bind(number)
        .fetch_optional(&self.read)
        .await?;
        id.ok_or(StoreError::NotFound)
    }

    /// Records (or changes) the customer's rating of a ticket, with a
    /// `csat.answered` event when it changed. Not found when it was never
    /// asked; invalid without a score given now or before.
    pub async fn answer_csat(
        &self,
        workspace_id: i64,
        ticket_id: i64,
        answer: &Answer,
        via: &str,
    ) -> Result<(Csat, Vec<Event>)> {
        let mut tx = self.write.begin().await?;
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let mut c: Csat = sqlx::query_as(&format!(
            "SELECT {CSAT_COLS} FROM csat_responses WHERE workspace_id = $1 AND ticket_id = $2{lock}"
        ))
        .bind(workspace_id)
        .bind(ticket_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let score = answer
            .score
            .or(c.score)
            .ok_or_else(|| crate::domain::Invalid::new("score", "choose a score from 1 to 5"))?;
        let comment = answer.comment.clone().unwrap_or_else(|| c.comment.clone());
        if c.score == Some(score) && c.comment == comment {
            return Ok((c, vec![]));
        }
        let now = now_ms();
        sqlx::query("UPDATE csat_responses SET score = $1, comment = $2, answered_at = $3, answered_via = $4 WHERE ticket_id = $5")
            .bind(score)
            .bind(&comment)
            .bind(now)
            .bind(via)
            .bind(ticket_id)
            .execute(&mut *tx)
            .await?;
        (c.score, c.comment, c.answered_at, c.answered_via) = (Some(score), comment, Some(now), Some(via.to_string()));
        let ev = NewEvent::new(workspace_id, EventType::CsatAnswered, EventActor::Contact(c.contact_id))
            .ticket(ticket_id)
            .contact(c.contact_id)
            .changes(serde_json::json!({ "score": score, "agent_id": c.agent_id, "via": via }));
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((c, logged))
    }

    /// An NPS survey by its token.
    pub async fn nps(&self, workspace_id: i64, token: &str) -> Result<Nps> {
        sqlx::query_as(&format!(
            "SELECT {NPS_COLS} FROM nps_surveys WHERE workspace_id = $1 AND token = $2"
        ))
        .bind(workspace_id)
        .bind(token)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)
    }

    /// Records an NPS answer. The score is given once (with the
    /// `nps.answered` event, which the reports count); later answers may
    /// repeat it and change the comment, and a different one is a conflict.
    pub async fn answer_nps(&self, workspace_id: i64, token: &str, answer: &Answer) -> Result<(Nps, Vec<Event>)> {
        let mut tx = self.write.begin().await?;
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let mut s: Nps = sqlx::query_as(&format!(
            "SELECT {NPS_COLS} FROM nps_surveys WHERE workspace_id = $1 AND token = $2{lock}"
        ))
        .bind(workspace_id)
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let mut ev = Vec::new();
        match (s.score, answer.score) {
            (Some(old), Some(new)) if old != new => {
                return Err(StoreError::Conflict(format!(
                    "a score of {old} was already given; it cannot be changed"
                )))
            }
            (None, None) => {
                return Err(crate::domain::Invalid::new("score", "choose a score from 0 to 10").into());
            }
            (None, Some(new)) => {
                sqlx::query("UPDATE nps_surveys SET score = $1, answered_at = $2 WHERE id = $3")
                    .bind(new)
                    .bind(now_ms())
                    .bind(s.id)
                    .execute(&mut *tx)
                    .await?;
                s.score = Some(new);
                let mut e = NewEvent::new(workspace_id, EventType::NpsAnswered, EventActor::Contact(s.contact_id))
                    .contact(s.contact_id)
                    .changes(serde_json::json!({ "score": new }));
                e.ticket_id = s.ticket_id;
                ev.push(e);
            }
            _ => {}
        }
        if let Some(c) = answer.comment.as_ref().filter(|c| **c != s.comment) {
            sqlx::query("UPDATE nps_surveys SET comment = $1 WHERE id = $2")
                .bind(c)
                .bind(s.id)
                .execute(&mut *tx)
                .await?;
            s.comment = c.clone();
        }
        let logged = self.commit_with(tx, ev).await?;
        Ok((s, logged))
    }

    /// NPS surveys due by `now` and not sent yet, oldest first.
    pub async fn due_nps(&self, now: i64, limit: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, workspace_id FROM nps_surveys WHERE sent_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Sends one due survey (once: marked sent in the transaction that
    /// queues its mail). `send` false (NPS was turned off since it was
    /// planned) drops it instead. Returns whether a mail was queued.
    pub async fn send_nps(&self, id: i64, send: bool) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        if !send {
            sqlx::query("DELETE FROM nps_surveys WHERE id = $1 AND sent_at IS NULL")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(false);
        }
        let now = now_ms();
        let row: Option<(i64, String, i64)> = sqlx::query_as(
            "UPDATE nps_surveys SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL RETURNING workspace_id, token, contact_id",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((ws, token, contact_id)) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let (email, name, slug, store): (Option<String>, String, String, String) = sqlx::query_as(
            "SELECT c.email, c.name, w.slug, w.name FROM contacts c JOIN workspaces w ON w.id = c.workspace_id WHERE c.id = $1",
        )
        .bind(contact_id)
        .fetch_one(&mut *tx)
        .await?;
        let Some(to) = email.as_deref().and_then(|a| Email::parse("email", a).ok()) else {
            tx.commit().await?;
            return Ok(false);
        };
        let lang = mail_language(&mut tx, ws).await?;
        let url = format!("{PUBLIC_URL}/p/{slug}/nps/{token}");
        let (subject, body) = nps_mail(&lang, &store, &greeting_name(&name, email.as_deref()), &url);
        let queued = queue_in(
            &mut tx,
            &OutMail {
                workspace_id: ws,
                kind: "nps",
                ticket_id: None,
                message_id: None,
                to: &to,
                subject: &subject,
                body: &body,
                in_reply_to: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(queued)
    }
}

/// The CSAT question for one resolved ticket, unless it was asked before
/// or there is no way to ask: a chat's visitor is asked in the widget
/// (returned), anyone else by mail when they have an address.
async fn ask_csat(
    tx: &mut Transaction<'_, Any>,
    t: &Ticket,
    email: Option<&Email>,
    link: &str,
    now: i64,
) -> Result<Option<ChatAsk>> {
    let via = match (t.channel, email) {
        // An incident of a site monitor has no customer to ask.
        (Channel::Monitor, _) => return Ok(None),
        (Channel::Chat, _) => "chat",
        (_, Some(_)) => "mail",
        (_, None) => return Ok(None),
    };
    let asked: Option<i64> = sqlx::query_scalar(
        "INSERT INTO csat_responses (ticket_id, workspace_id, contact_id, agent_id, asked_at, asked_via) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING ticket_id",
    )
    .bind(t.id)
    .bind(t.workspace_id)
    .bind(t.contact.id)
    .bind(t.assignee_id)
    .bind(now)
    .bind(via)
    .fetch_optional(&mut **tx)
    .await?;
    if asked.is_none() {
        return Ok(None);
    }
    let Some(to) = email.filter(|_| via == "mail") else {
        return Ok(Some(ChatAsk {
            workspace_id: t.workspace_id,
            contact_id: t.contact.id,
            ticket_number: t.number,
        }));
    };
    let (slug, store): (String, String) = sqlx::query_as("SELECT slug, name FROM workspaces WHERE id = $1")
        .bind(t.workspace_id)
        .fetch_one(&mut **tx)
        .await?;
    let lang = mail_language(tx, t.workspace_id).await?;
    let url = format!("{PUBLIC_URL}/p/{slug}/t/{link}/csat");
    let (subject, body) = csat_mail(&lang, t, &store, &url);
    let queued = queue_in(
        tx,
        &OutMail {
            workspace_id: t.workspace_id,
            kind: "csat",
            ticket_id: Some(t.id),
            message_id: None,
            to,
            subject: &subject,
            body: &body,
            in_reply_to: None,
        },
    )
    .await?;
    if !queued {
        // A bounced address: nothing went out, so nothing shows as asked.
        sqlx::query("DELETE FROM csat_responses WHERE ticket_id = $1")
            .bind(t.id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(None)
}

/// Plans an NPS survey for the ticket's contact unless one was planned
/// within the workspace's interval. The check and the insert are one
/// statement, run under the surveys consumer's row lock (see
/// `ask_surveys`): two resolutions are planned one after the other, and
/// the second sees the first's survey.
async fn plan_nps(tx: &mut Transaction<'_, Any>, t: &Ticket, s: &Settings, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO nps_surveys (workspace_id, contact_id, ticket_id, token, created_at, due_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS \
         (SELECT 1 FROM nps_surveys WHERE workspace_id = $1 AND contact_id = $2 AND created_at > $7)",
    )
    .bind(t.workspace_id)
    .bind(t.contact.id)
    .bind(t.id)
    .bind(crate::auth::new_secret())
    .bind(now)
    .bind(now + s.nps_delay_hours * 3_600_000)
    .bind(now - s.nps_every_days * 86_400_000)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn greeting_name(name: &str, email: Option<&str>) -> String {
    if name.trim().is_empty() {
        email.unwrap_or_default().to_string()
    } else {
        name.trim().to_string()
    }
}

/// One line per score, each with its one-click link.
fn score_lines(lang: &str, survey: Survey, url: &str) -> String {
    survey
        .scale()
        .rev()
        .map(|n| {
            let label = match survey {
                Survey::Csat => format!("{n} – {}", crate::i18n::text(lang, &format!("survey-csat-{n}"), &[])),
                Survey::Nps => n.to_string(),
            };
            format!("{label}: {url}?score={n}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn csat_mail(lang: &str, t: &Ticket, store: &str, url: &str) -> (String, String) {
    let number = t.number.to_string();
    let name = greeting_name(&t.contact.name, t.contact.email.as_deref());
    let subject = crate::i18n::text(lang, "mail-csat-subject", &[("number", &number), ("store", store)]);
    let intro = crate::i18n::text(
        lang,
        "mail-csat-body",
        &[("name", &name), ("number", &number), ("subject", &t.subject)],
    );
    let outro = crate::i18n::text(lang, "mail-survey-outro", &[]);
    let body = format!("{intro}\n\n{}\n\n{outro}", score_lines(lang, Survey::Csat, url));
    (subject, body)
}

fn nps_mail(lang: &str, store: &str, name: &str, url: &str) -> (String, String) {
    let subject = crate::i18n::text(lang, "mail-nps-subject", &[("store", store)]);
    let intro = crate::i18n::text(lang, "mail-nps-body", &[("name", name), ("store", store)]);
    let outro = crate::i18n::text(lang, "mail-survey-outro", &[]);
    let body = format!("{intro}\n\n{}\n\n{outro}", score_lines(lang, Survey::Nps, url));
    (subject, body)
}
