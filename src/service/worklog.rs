//! Time on tickets (entries, timers, estimates and the client's answer)
//! and the monthly reports per client and per agent.

use serde::Serialize;

use super::Services;
use crate::domain::worklog::{bill, Bill, Month, Usage};
use crate::domain::Actor;
use crate::events::Hint;
use crate::store::clients::Client;
use crate::store::worklog::{EntryPatch, Estimate, NewEntry, TicketMonth, TicketWork, TimeEntry};
use crate::store::Result;

/// One ticket's line in a client's month.
#[derive(Debug, Clone, Serialize)]
pub struct ReportTicket {
    pub ticket_id: i64,
    pub number: i64,
    pub subject: String,
    pub urgent: bool,
    pub minutes: i64,
    pub billable_minutes: i64,
}

/// A client's month: tickets, time, amounts by rate, subscription balance.
#[derive(Debug, Clone, Serialize)]
pub struct ClientReport {
    pub client: Client,
    pub month: String,
    pub tickets: Vec<ReportTicket>,
    pub total_minutes: i64,
    pub billable_minutes: i64,
    pub bill: Bill,
}

/// One agent's month: their time, and what its billable part is worth at
/// the clients' rates (per currency; time on tickets of no client has no
/// rate, and a subscription's included minutes are not taken off here).
#[derive(Debug, Clone, Serialize)]
pub struct AgentMonth {
    pub user_id: i64,
    pub user_name: String,
    pub minutes: i64,
    pub billable_minutes: i64,
    /// (currency, minor units), by currency.
    pub amounts: Vec<(String, i64)>,
}

/// A month across the workspace: every client's report, every agent's
/// time (or one agent's), and the time on tickets of no client.
#[derive(Debug, Clone, Serialize)]
pub struct MonthOverview {
    pub month: String,
    pub clients: Vec<ClientReport>,
    pub agents: Vec<AgentMonth>,
    /// The agents' rows per ticket (the agent CSV).
    pub rows: Vec<TicketMonth>,
    pub unlinked_minutes: i64,
    pub unlinked_billable_minutes: i64,
}

/// A client's report from its rows of the month.
fn report_of(client: Client, month: Month, rows: &[TicketMonth]) -> ClientReport {
    let tickets = per_ticket(rows);
    let mut usage = Usage::default();
    for t in &tickets {
        if t.urgent {
            usage.urgent_minutes += t.billable_minutes;
        } else {
            usage.regular_minutes += t.billable_minutes;
        }
    }
    ClientReport {
        month: month.to_string(),
        total_minutes: tickets.iter().map(|t| t.minutes).sum(),
        billable_minutes: tickets.iter().map(|t| t.billable_minutes).sum(),
        bill: bill(client.terms(), usage),
        client,
        tickets,
    }
}

/// Folds per-agent rows into one line per ticket.
fn per_ticket(rows: &[TicketMonth]) -> Vec<ReportTicket> {
    let mut out: Vec<ReportTicket> = Vec::new();
    for r in rows {
        match out.iter_mut().find(|t| t.ticket_id == r.ticket_id) {
            Some(t) => {
                t.minutes += r.minutes;
                t.billable_minutes += r.billable_minutes;
            }
            None => out.push(ReportTicket {
                ticket_id: r.ticket_id,
                number: r.number,
                subject: r.subject.clone(),
                urgent: r.urgent != 0,
                minutes: r.minutes,
                billable_minutes: r.billable_minutes,
            }),
        }
    }
    out
}

impl Services {
    /// A ticket's work as agent `actor` sees it (not found when they may not see the ticket).
    pub async fn ticket_work(&self, actor: &Actor, ticket_id: i64) -> Result<TicketWork> {
        self.store.ticket(actor, ticket_id).await?;
        self.store
            .ticket_work(actor.workspace_id, ticket_id, actor.user_id)
            .await
    }

    pub async fn log_time(&self, actor: &Actor, ticket_id: i64, e: NewEntry) -> Result<TimeEntry> {
        let t = self.store.ticket(actor, ticket_id).await?;
        let (entry, logged) = self
            .store
            .log_time(actor.workspace_id, actor.user_id, ticket_id, &e)
            .await?;
        self.logged(&logged, Hint::ticket(&t));
        Ok(entry)
    }

    pub async fn update_time_entry(&self, actor: &Actor, ticket_id: i64, id: i64, p: EntryPatch) -> Result<TimeEntry> {
        let (entry, logged) = self
            .store
            .update_time_entry(actor.workspace_id, actor.user_id, (ticket_id, id), &p)
            .await?;
        self.logged(&logged, Hint::default());
        Ok(entry)
    }

    pub async fn delete_time_entry(&self, actor: &Actor, ticket_id: i64, id: i64) -> Result<()> {
        let logged = self
            .store
            .delete_time_entry(actor.workspace_id, actor.user_id, ticket_id, id)
            .await?;
        self.logged(&logged, Hint::default());
        Ok(())
    }

    /// Starts the actor's timer on a ticket; returns when it started.
    pub async fn start_timer(&self, actor: &Actor, ticket_id: i64) -> Result<i64> {
        self.store.ticket(actor, ticket_id).await?;
        self.store
            .start_timer(actor.workspace_id, actor.user_id, ticket_id)
            .await
    }

    pub async fn stop_timer(&self, actor: &Actor, ticket_id: i64, billable: bool, note: String) -> Result<TimeEntry> {
        let t = self.store.ticket(actor, ticket_id).await?;
        let (entry, logged) = self
            .store
            .stop_timer(actor.workspace_id, actor.user_id, ticket_id, billable, note)
            .await?;
        self.logged(&logged, Hint::ticket(&t));
        Ok(entry)
    }

    pub async fn set_estimate(
        &self,
        actor: &Actor,
        ticket_id: i64,
        minutes: Option<i64>,
        urgent: Option<bool>,
    ) -> Result<Estimate> {
        let t = self.store.ticket(actor, ticket_id).await?;
        let (est, logged) = self
            .store
            .set_estimate(actor.workspace_id, actor.user_id, ticket_id, minutes, urgent)
            .await?;
        self.logged(&logged, Hint::ticket(&t));
        Ok(est)
    }

    /// The ticket's contact approves its estimate (None) or asks a question.
    pub async fn answer_estimate(
        &self,
        workspace_id: i64,
        contact_id: i64,
        ticket_id: i64,
        question: Option<String>,
    ) -> Result<Estimate> {
        let (est, logged) = self
            .store
            .answer_estimate(workspace_id, contact_id, ticket_id, question)
            .await?;
        self.logged(&logged, Hint::default());
        Ok(est)
    }

    /// Client `client_id`'s month.
    pub async fn client_report(&self, workspace_id: i64, client_id: i64, month: Month) -> Result<ClientReport> {
        let client = self.store.client(workspace_id, client_id).await?;
        let rows = self
            .store
            .month_work(workspace_id, Some(client_id), None, month)
            .await?;
        Ok(report_of(client, month, &rows))
    }

    /// The month across the workspace: every client's report and each
    /// agent's time (only `agent`'s when given; the clients' reports count
    /// everyone's time either way).
    pub async fn month_overview(&self, workspace_id: i64, agent: Option<i64>, month: Month) -> Result<MonthOverview> {
        let (clients, rows) = tokio::try_join!(
            self.store.list_clients(workspace_id),
            self.store.month_work(workspace_id, None, None, month)
        )?;
        let unlinked: Vec<&TicketMonth> = rows.iter().filter(|r| r.client_id.is_none()).collect();
        let mut agents: Vec<AgentMonth> = Vec::new();
        for r in rows.iter().filter(|r| agent.is_none_or(|a| a == r.user_id)) {
            let at = match agents.iter().position(|a| a.user_id == r.user_id) {
                Some(i) => i,
                None => {
                    agents.push(AgentMonth {
                        user_id: r.user_id,
                        user_name: r.user_name.clone(),
                        minutes: 0,
                        billable_minutes: 0,
                        amounts: vec![],
                    });
                    agents.len() - 1
                }
            };
            let a = &mut agents[at];
            a.minutes += r.minutes;
            a.billable_minutes += r.billable_minutes;
            if let Some(k) = r.client_id.and_then(|id| clients.iter().find(|k| k.id == id)) {
                let urgent = r.urgent != 0 || k.work_type == crate::domain::worklog::WorkType::Urgent;
                let rate = if urgent { k.urgent_rate } else { k.hourly_rate };
                let value = crate::domain::worklog::amount(r.billable_minutes, rate);
                match a.amounts.iter_mut().find(|(c, _)| *c == k.currency) {
                    Some((_, v)) => *v += value,
                    None => a.amounts.push((k.currency.clone(), value)),
                }
            }
        }
        agents.sort_by(|a, b| a.user_name.cmp(&b.user_name).then(a.user_id.cmp(&b.user_id)));
        let reports = clients
            .into_iter()
            .map(|k| {
                let mine: Vec<TicketMonth> = rows.iter().filter(|r| r.client_id == Some(k.id)).cloned().collect();
                report_of(k, month, &mine)
            })
            .collect();
        Ok(MonthOverview {
            month: month.to_string(),
            clients: reports,
            agents,
            unlinked_minutes: unlinked.iter().map(|r| r.minutes).sum(),
            unlinked_billable_minutes: unlinked.iter().map(|r| r.billable_minutes).sum(),
            rows: rows
                .into_iter()
                .filter(|r| agent.is_none_or(|a| a == r.user_id))
                .collect(),
        })
    }

    /// The monthly reports the portal's customer (address `email`) may see:
    /// those of the clients their contact belongs to, and no other.
    pub async fn portal_reports(&self, workspace_id: i64, email: &str, month: Month) -> Result<Vec<ClientReport>> {
        let mut out = vec![];
        for id in self.store.clients_of_email(workspace_id, email).await? {
            out.push(self.client_report(workspace_id, id, month).await?);
        }
        Ok(out)
    }

    /// Every agent's (or one agent's) time per ticket in a month.
    pub async fn agent_report(
        &self,
        workspace_id: i64,
        agent_id: Option<i64>,
        month: Month,
    ) -> Result<Vec<TicketMonth>> {
        self.store.month_work(workspace_id, None, agent_id, month).await
    }

    /// Sends the time reports of the tickets resolved in a page of the log,
    /// committed with the consumer's position. None when there was nothing
    /// to write; Some(false) when the lease was lost.
    pub async fn send_time_reports(
        &self,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<crate::domain::event::Event>],
        save: bool,
    ) -> Result<Option<bool>> {
        let now = crate::store::now_ms();
        let found: Vec<(i64, i64)> = events
            .iter()
            .filter_map(|e| crate::domain::survey::resolution(e, now).map(|t| (e.workspace_id, t)))
            .collect();
        if found.is_empty() && !save {
            return Ok(None);
        }
        let last = events.last().map_or(0, |e| e.id);
        match self.store.send_time_reports(name, owner, last, &found).await? {
            None => Ok(Some(false)),
            Some(logged) => {
                self.logged(&logged, Hint::default());
                Ok(Some(true))
            }
        }
    }
}
