//! Group commit. Writes that arrive together (new tickets, chat messages)
//! are made in one transaction, so they share one commit (one fsync) and,
//! on PostgreSQL, one hold of the workspace's ticket-number row. Each
//! caller still gets its answer only after the commit that holds its write.
//! If any write in a batch fails, the batch is rolled back and each is
//! retried alone, so one bad request never fails its neighbours.

use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::chat::{post_in, Visitor};
use super::mail::{ingest_in, InboundMail, Ingested};
use super::tickets::create_in;
use super::{Message, NewTicket, Result, StoreError, Ticket, Workspace};

const MAX_BATCH: usize = 64;

enum Job {
    CreateTicket { workspace_id: i64, new: NewTicket, reply: oneshot::Sender<Result<(Ticket, bool)>> },
    PostChat { visitor: Visitor, client_id: String, body: String, attachment_ids: Vec<i64>, reply: oneshot::Sender<Result<Posted>> },
    IngestMail { workspace: Workspace, mail: InboundMail, reply: oneshot::Sender<Result<Ingested>> },
}

type Posted = (Message, bool, Ticket, bool);

enum Done {
    Ticket((Ticket, bool)),
    Chat(Posted),
    Mail(Ingested),
}

impl Job {
    async fn run(&self, tx: &mut Transaction<'_, Any>, lock: bool) -> Result<Done> {
        match self {
            Job::CreateTicket { workspace_id, new, .. } => create_in(tx, *workspace_id, new.clone()).await.map(Done::Ticket),
            Job::PostChat { visitor, client_id, body, attachment_ids, .. } => post_in(tx, lock, visitor, client_id, body, attachment_ids).await.map(Done::Chat),
            Job::IngestMail { workspace, mail, .. } => ingest_in(tx, lock, workspace, mail.clone()).await.map(Done::Mail),
        }
    }

    fn answer(self, r: Result<Done>) {
        match self {
            Job::CreateTicket { reply, .. } => {
                let _ = reply.send(r.map(|d| match d {
                    Done::Ticket(t) => t,
                    _ => unreachable!("a ticket job answers with a ticket"),
                }));
            }
            Job::PostChat { reply, .. } => {
                let _ = reply.send(r.map(|d| match d {
                    Done::Chat(c) => c,
                    _ => unreachable!("a chat job answers with a message"),
                }));
            }
            Job::IngestMail { reply, .. } => {
                let _ = reply.send(r.map(|d| match d {
                    Done::Mail(m) => m,
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

    async fn send<T>(&self, job: Job, answer: oneshot::Receiver<Result<T>>) -> Result<T> {
        self.jobs.send(job).await.map_err(|_| StoreError::Config("the store is closed".into()))?;
        answer.await.map_err(|_| StoreError::Config("the writer stopped".into()))?
    }

    pub(super) async fn create_ticket(&self, workspace_id: i64, new: NewTicket) -> Result<(Ticket, bool)> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::CreateTicket { workspace_id, new, reply }, answer).await
    }

    pub(super) async fn ingest(&self, workspace: Workspace, mail: InboundMail) -> Result<Ingested> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::IngestMail { workspace, mail, reply }, answer).await
    }

    pub(super) async fn post(&self, visitor: Visitor, client_id: String, body: String, attachment_ids: Vec<i64>) -> Result<Posted> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::PostChat { visitor, client_id, body, attachment_ids, reply }, answer).await
    }
}

async fn run(pool: &AnyPool, lock: bool, batch: &mut Vec<Job>) {
    metrics::histogram!("storedesk_write_batch_size").record(batch.len() as f64);
    if batch.len() > 1 {
        let mut results = Vec::with_capacity(batch.len());
        let together: Result<()> = async {
            let mut tx = pool.begin().await?;
            for job in batch.iter() {
                results.push(job.run(&mut tx, lock).await?);
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        if together.is_ok() {
            for (job, r) in batch.drain(..).zip(results) {
                job.answer(Ok(r));
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
            let r: Result<Done> = async {
                let mut tx = pool.begin().await?;
                let r = job.run(&mut tx, lock).await?;
                tx.commit().await?;
                Ok(r)
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
        StoreError::Database(sqlx::Error::Database(db)) => matches!(db.code().as_deref(), Some("40P01") | Some("40001") | Some("5") | Some("6")),
        _ => false,
    }
}
