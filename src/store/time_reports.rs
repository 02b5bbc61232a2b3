//! The notice a client gets when a ticket with logged time is resolved:
//! a public message on the ticket (on its private page and in the portal)
//! with the time report, mailed to the contact when the ticket is followed
//! by mail. Written with the consumer's position, so reading a page of the
//! log again sends nothing twice.

use super::events::advance_in;
use super::mail::{queue_in, OutMail};
use super::tickets::{insert_message, load_ticket, message_event};
use super::*;
use crate::domain::worklog::{time_report, ReportFacts};
use crate::domain::{Channel, Email, MessageKind, Status};

impl Store {
    /// Sends the time reports of `resolved` (workspace, ticket) and moves
    /// consumer `name` to `position`; returns the events logged, or None
    /// when the lease was lost.
    pub async fn send_time_reports(
        &self,
        name: &str,
        owner: &str,
        position: i64,
        resolved: &[(i64, i64)],
    ) -> Result<Option<Vec<crate::domain::event::Event>>> {
        let mut tx = self.write.begin().await?;
        if !advance_in(&mut tx, name, owner, position).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let now = now_ms();
        let mut ev = Vec::new();
        for (ws, ticket_id) in resolved {
            let t = match load_ticket(&mut tx, *ws, *ticket_id, false).await {
                Ok(t) => t,
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            // Reopened before we got to it: the work goes on.
            if !matches!(t.status, Status::Resolved | Status::Closed) {
                continue;
            }
            let facts: (i64, i64, i64, Option<i64>, Option<String>) = sqlx::query_as(
                "SELECT CAST(COUNT(e.id) AS BIGINT), CAST(COALESCE(SUM(e.minutes), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN e.billable = 1 THEN e.minutes ELSE 0 END), 0) AS BIGINT), \
                 t.estimate_minutes, t.estimate_state FROM tickets t LEFT JOIN time_entries e ON e.ticket_id = t.id \
                 WHERE t.id = $1 GROUP BY t.estimate_minutes, t.estimate_state",
            )
            .bind(t.id)
            .fetch_one(&mut *tx)
            .await?;
            if facts.0 == 0 {
                continue;
            }
            let body = time_report(&ReportFacts {
                number: t.number,
                subject: &t.subject,
                total_minutes: facts.1,
                billable_minutes: facts.2,
                estimate_minutes: facts.3,
            });
            let note = NewMessage {
                kind: MessageKind::Reply,
                author: Author::System,
                body: body.clone(),
                html: None,
                external_id: None,
                files: vec![],
            };
            let msg = insert_message(&mut tx, *ws, t.id, &note, now).await?;
            ev.push(message_event(*ws, t.channel, t.contact.id, &msg));
            let by_mail = matches!(t.channel, Channel::Email | Channel::Form | Channel::Api);
            let to = t.contact.email.as_deref().and_then(|a| Email::parse("email", a).ok());
            if let (true, Some(to)) = (by_mail, to) {
                let subject = format!("[#{}] {}: time report", t.number, t.subject);
                queue_in(
                    &mut tx,
                    &OutMail {
                        workspace_id: *ws,
                        kind: "time_report",
                        ticket_id: Some(t.id),
                        message_id: Some(msg.id),
                        to: &to,
                        subject: &subject,
                        body: &body,
                        in_reply_to: None,
                    },
                )
                .await?;
            }
        }
        Ok(Some(self.commit_with(tx, ev).await?))
    }
}
