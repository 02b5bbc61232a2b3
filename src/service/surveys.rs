//! Satisfaction surveys: asking when tickets are resolved (for the surveys
//! consumer), sending NPS surveys when they are due (for the timers), and
//! customers' answers from the survey pages and the chat widget.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::Services;
use crate::domain::event::Event;
use crate::domain::reports::Settings;
use crate::domain::survey::{resolution, CHAT_OFFER_MS};
use crate::events::Hint;
use crate::realtime::{Kind, Signal};
use crate::store::chat::Visitor;
use crate::store::surveys::{Answer, Csat, Nps, Resolved};
use crate::store::{now_ms, Result, StoreError};

/// Due NPS surveys one timer pass sends at most; the rest wait for the next.
const SEND_BATCH: i64 = 200;

/// A CSAT question as the widget gets it (welcome, `survey` frame).
pub fn chat_survey(ticket_number: i64) -> Value {
    json!({ "kind": "csat", "ticket_number": ticket_number })
}

impl Services {
    /// Asks about the resolutions in a page of the log, committed with the
    /// consumer's position. None when there was nothing to write (no
    /// resolution, no save asked); Some(false) when the lease was lost.
    pub async fn ask_surveys(
        &self,
        name: &str,
        owner: &str,
        events: &[Arc<Event>],
        save: bool,
    ) -> Result<Option<bool>> {
        let now = now_ms();
        let found: Vec<(i64, i64)> = events
            .iter()
            .filter_map(|e| resolution(e, now).map(|t| (e.workspace_id, t)))
            .collect();
        if found.is_empty() && !save {
            return Ok(None);
        }
        let mut settings = HashMap::new();
        let mut resolved = Vec::new();
        for (workspace_id, ticket_id) in found {
            let s = self.survey_settings(&mut settings, workspace_id).await?;
            if s.csat || s.nps {
                resolved.push(Resolved {
                    workspace_id,
                    ticket_id,
                    settings: s,
                });
            }
        }
        let last = events.last().map_or(0, |e| e.id);
        let Some(chat) = self.store.ask_surveys(name, owner, last, &resolved).await? else {
            return Ok(Some(false));
        };
        // A visitor not on the page now is asked when they come back (welcome).
        for a in chat {
            let kind = Kind::Survey {
                contact_id: a.contact_id,
                survey: chat_survey(a.ticket_number),
            };
            self.bus.publish(Signal::new(a.workspace_id, kind)).await;
        }
        Ok(Some(true))
    }

    /// Sends the NPS surveys whose time has come; returns how many went.
    pub async fn send_due_surveys(&self) -> Result<usize> {
        let mut settings = HashMap::new();
        let mut sent = 0;
        for (id, workspace_id) in self.store.due_nps(now_ms(), SEND_BATCH).await? {
            let on = self.survey_settings(&mut settings, workspace_id).await?.nps;
            if self.store.send_nps(id, on).await? {
                sent += 1;
            }
        }
        if sent > 0 {
            metrics::counter!("storedesk_surveys_sent_total", "kind" => "nps").increment(sent as u64);
        }
        Ok(sent)
    }

    /// The customer's rating of a ticket, new or changed.
    pub async fn answer_csat(&self, workspace_id: i64, ticket_id: i64, answer: &Answer, via: &str) -> Result<Csat> {
        let (c, logged) = self.store.answer_csat(workspace_id, ticket_id, answer, via).await?;
        self.logged(&logged, Hint::default());
        Ok(c)
    }

    /// A visitor's rating from the widget: of a chat of their own, and only
    /// once they were asked.
    pub async fn visitor_csat(&self, v: &Visitor, ticket_number: i64, answer: &Answer) -> Result<Csat> {
        let ticket_id = self
            .store
            .csat_ticket_of(v.workspace_id, v.contact_id, ticket_number)
            .await?;
        self.answer_csat(v.workspace_id, ticket_id, answer, "chat").await
    }

    /// The question a visitor has not answered yet, for their widget.
    pub async fn pending_survey(&self, v: &Visitor) -> Result<Option<Value>> {
        let since = now_ms() - CHAT_OFFER_MS;
        let pending = self
            .store
            .pending_chat_csat(v.workspace_id, v.contact_id, since)
            .await?;
        Ok(pending.map(|(_, number)| chat_survey(number)))
    }

    pub async fn answer_nps(&self, workspace_id: i64, token: &str, answer: &Answer) -> Result<Nps> {
        let (s, logged) = self.store.answer_nps(workspace_id, token, answer).await?;
        self.logged(&logged, Hint::default());
        Ok(s)
    }

    /// A workspace's survey settings, read once per pass. Settings that no
    /// longer parse ask nothing rather than stop the consumer.
    async fn survey_settings(&self, cache: &mut HashMap<i64, Settings>, workspace_id: i64) -> Result<Settings> {
        if let Some(s) = cache.get(&workspace_id) {
            return Ok(s.clone());
        }
        let s = match self.store.report_settings(workspace_id).await {
            Ok(s) => s,
            Err(StoreError::Corrupt(e)) => {
                tracing::warn!(workspace_id, error = %e, "report settings unreadable; no surveys");
                Settings {
                    csat: false,
                    nps: false,
                    ..Settings::default()
                }
            }
            Err(e) => return Err(e),
        };
        cache.insert(workspace_id, s.clone());
        Ok(s)
    }
}
