//! Group commit. Writes that arrive together (new tickets, chat messages)
//! are made in one transaction, so they share one commit (one fsync) and,
//! on PostgreSQL, one hold of the workspace's ticket-number row. Each
//! caller still gets its answer only after the commit that holds its write.
//! If any write in a batch fails, the batch is rolled back and each is
//! retried alone, so one bad request never fails its neighbours.

use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::chat::{post_in, Visitor};
use super::events::append;
use super::mail::{ingest_in, InboundMail, Ingested};
use super::tickets::{create_in, resolve_contact};
use super::{
    Backend, ContactSummary, Message, NewTicket, Opened, Result, StoreError, Ticket, TicketContact, Workspace,
};
use crate::domain::event::{Event, NewEvent};

const MAX_BATCH: usize = 64;

type Reply<T> = oneshot::Sender<Result<(T, Vec<Event>)>>;

enum Job {
    CreateTicket {
        workspace_id: i64,
        new: NewTicket,
        reply: Reply<Opened>,
    },
    PostChat {
        visitor: Visitor,
        client_id: String,
        body: String,
        attachment_ids: Vec<i64>,
        reply: Reply<Posted>,
    },
    IngestMail {
        workspace: Workspace,
        mail: InboundMail,
        reply: Reply<Ingested>,
    },
}

type Posted = (Message, bool, Ticket, bool);

enum Done {
    Ticket(Opened),
    Chat(Posted),
    Mail(Ingested),
}

impl Job {
    /// Makes the job's writes and stages its events in `ev`.
    async fn run(&self, tx: &mut Transaction<'_, Any>, lock: bool, ev: &mut Vec<NewEvent>) -> Result<Done> {
        self.run_with(tx, lock, ev, None).await
    }

    /// As `run`, with a new ticket's customer already found (`known`).
    async fn run_with(
        &self,
        tx: &mut Transaction<'_, Any>,
        lock: bool,
        ev: &mut Vec<NewEvent>,
        known: Option<(ContactSummary, Option<bool>)>,
    ) -> Result<Done> {
        match self {
            Job::CreateTicket { workspace_id, new, .. } => {
                let mut new = new.clone();
                match known {
                    Some((c, Some(blocked))) => new.contact = TicketContact::Checked(c, blocked),
                    Some((c, None)) => new.contact = TicketContact::Known(c),
                    None => {}
                }
                create_in(tx, *workspace_id, new, ev).await.map(Done::Ticket)
            }
            Job::PostChat {
                visitor,
                client_id,
                body,
                attachment_ids,
                ..
            } => post_in(tx, lock, visitor, client_id, body, attachment_ids, ev)
                .await
                .map(Done::Chat),
            Job::IngestMail { workspace, mail, .. } => {
                ingest_in(tx, lock, workspace, mail.clone(), ev).await.map(Done::Mail)
            }
        }
    }

    fn answer(self, r: Result<(Done, Vec<Event>)>) {
        match self {
            Job::CreateTicket { reply, .. } => {
                let _ = reply.send(r.map(|(d, e)| match d {
                    Done::Ticket(t) => (t, e),
                    _ => unreachable!("a ticket job answers with a ticket"),
                }));
            }
            Job::PostChat { reply, .. } => {
                let _ = reply.send(r.map(|(d, e)| match d {
                    Done::Chat(c) => (c, e),
                    _ => unreachable!("a chat job answers with a message"),
                }));
            }
            Job::IngestMail { reply, .. } => {
                let _ = reply.send(r.map(|(d, e)| match d {
                    Done::Mail(m) => (m, e),
                    _ => unreachable!("a mail job answers with a mail"),
                }));
            }
        }
    }
}

#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task; it ends when the last `Writer` is dropped.
    /// `lock` says whether rows must be locked (PostgreSQL).
    ///
    /// SQLite has one writer, so one task writes. PostgreSQL runs several
    /// transactions at once and each statement is a network round trip, so
    /// several tasks write in parallel: one long batch would otherwise hold
    /// up everything behind it.
    pub(super) fn spawn(pool: AnyPool, lock: bool, tasks: usize) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>(1024);
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..tasks.max(1) {
            let (pool, rx) = (pool.clone(), rx.clone());
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(MAX_BATCH);
                loop {
                    let n = rx.lock().await.recv_many(&mut batch, MAX_BATCH).await;
                    if n == 0 {
                        return;
                    }
                    run(&pool, lock, &mut batch).await;
                }
            });
        }
        Self { jobs }
    }

    async fn send<T>(&self, job: Job, answer: oneshot::Receiver<Result<(T, Vec<Event>)>>) -> Result<(T, Vec<Event>)> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Config("the store is closed".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Config("the writer stopped".into()))?
    }

    pub(super) async fn create_ticket(&self, workspace_id: i64, new: NewTicket) -> Result<(Opened, Vec<Event>)> {
        let (reply, answer) = oneshot::channel();
        self.send(
            Job::CreateTicket {
                workspace_id,
                new,
                reply,
            },
            answer,
        )
        .await
    }

    pub(super) async fn ingest(&self, workspace: Workspace, mail: InboundMail) -> Result<(Ingested, Vec<Event>)> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::IngestMail { workspace, mail, reply }, answer).await
    }

    pub(super) async fn post(
        &self,
        visitor: Visitor,
        client_id: String,
        body: String,
        attachment_ids: Vec<i64>,
    ) -> Result<(Posted, Vec<Event>)> {
        let (reply, answer) = oneshot::channel();
        self.send(
            Job::PostChat {
                visitor,
                client_id,
                body,
                attachment_ids,
                reply,
            },
            answer,
        )
        .await
    }
}

async fn run(pool: &AnyPool, lock: bool, batch: &mut Vec<Job>) {
    metrics::histogram!("storedesk_write_batch_size").record(batch.len() as f64);
    let backend = if lock { Backend::Postgres } else { Backend::Sqlite };
    if batch.len() > 1 {
        let mut results = Vec::with_capacity(batch.len());
        let together: Result<Vec<Event>> = async {
            let mut tx = pool.begin().await?;
            // Every new ticket's customer first: a ticket takes the
            // workspace's number row, held to commit on PostgreSQL, so the
            // less that follows the first number, the sooner the next batch
            // of that workspace runs. Their events stay with their tickets.
            let mut found = Vec::with_capacity(batch.len());
            for job in batch.iter() {
                found.push(match job {
                    Job::CreateTicket { workspace_id, new, .. } if lock => {
                        let mut ev = Vec::new();
                        Some((
                            resolve_contact(&mut tx, *workspace_id, &new.contact, &mut ev).await?,
                            ev,
                        ))
                    }
                    _ => None,
                });
            }
            let mut staged = Vec::new();
            for (job, found) in batch.iter().zip(found) {
                let before = staged.len();
                let known = found.map(|(c, ev)| {
                    staged.extend(ev);
                    c
                });
                results.push((
                    job.run_with(&mut tx, lock, &mut staged, known).await?,
                    staged.len() - before,
                ));
            }
            // One append for the whole batch: on PostgreSQL one hold of the
            // event clock, as late as possible.
            let logged = if staged.is_empty() {
                vec![]
            } else {
                append(&mut tx, backend, staged).await?
            };
            tx.commit().await?;
            Ok(logged)
        }
        .await;
        if let Ok(logged) = together {
            let mut logged = logged.into_iter();
            for (job, (r, n)) in batch.drain(..).zip(results) {
                job.answer(Ok((r, logged.by_ref().take(n).collect())));
            }
            return;
        }
    }
    for job in batch.drain(..) {
        // Writers run side by side on PostgreSQL; two of them can deadlock
        // (the database then aborts one). That is not the caller's fault:
        // try again, a few times.
        let mut attempt = 0;
        let alone = loop {
            let r: Result<(Done, Vec<Event>)> = async {
                let mut tx = pool.begin().await?;
                let mut staged = Vec::new();
                let r = job.run(&mut tx, lock, &mut staged).await?;
                let logged = if staged.is_empty() {
                    vec![]
                } else {
                    append(&mut tx, backend, staged).await?
                };
                tx.commit().await?;
                Ok((r, logged))
            }
            .await;
            attempt += 1;
            match r {
                Err(e) if attempt < 5 && transient(&e) => {
                    metrics::counter!("storedesk_write_retries_total").increment(1);
                    tokio::time::sleep(std::time::Duration::from_millis(5 * attempt)).await;
                }
                r => break r,
            }
        };
        job.answer(alone);
    }
}

/// Deadlocks and serialisation failures: the transaction may simply be run again.
fn transient(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => matches!(
            db.code().as_deref(),
            Some("40P01") | Some("40001") | Some("5") | Some("6")
        ),
        _ => false,
    }
}
