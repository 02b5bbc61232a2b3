//! Group commit for new tickets. Requests that arrive together are
//! written in one transaction, so they share one commit (one fsync) and,
//! on PostgreSQL, one hold of the workspace's ticket-number row. Each
//! caller still gets its answer only after the commit that holds its
//! ticket. If any ticket in a batch fails, the batch is rolled back and
//! each is retried alone, so one bad request never fails its neighbours.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::tickets::create_in;
use super::{NewTicket, Result, StoreError, Ticket};

const MAX_BATCH: usize = 64;

struct Job {
    workspace_id: i64,
    new: NewTicket,
    reply: oneshot::Sender<Result<(Ticket, bool)>>,
}

#[derive(Clone)]
pub(super) struct TicketWriter {
    jobs: mpsc::Sender<Job>,
}

impl TicketWriter {
    /// Starts the writer task; it ends when the last `TicketWriter` is dropped.
    pub(super) fn spawn(pool: AnyPool) -> Self {
        let (jobs, mut rx) = mpsc::channel::<Job>(1024);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                run(&pool, &mut batch).await;
            }
        });
        Self { jobs }
    }

    pub(super) async fn create(&self, workspace_id: i64, new: NewTicket) -> Result<(Ticket, bool)> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { workspace_id, new, reply }).await.map_err(|_| StoreError::Config("the store is closed".into()))?;
        answer.await.map_err(|_| StoreError::Config("the ticket writer stopped".into()))?
    }
}

async fn run(pool: &AnyPool, batch: &mut Vec<Job>) {
    metrics::histogram!("storedesk_ticket_batch_size").record(batch.len() as f64);
    if batch.len() > 1 {
        let mut results = Vec::with_capacity(batch.len());
        let together: Result<()> = async {
            let mut tx = pool.begin().await?;
            for job in batch.iter() {
                results.push(create_in(&mut tx, job.workspace_id, job.new.clone()).await?);
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        if together.is_ok() {
            for (job, r) in batch.drain(..).zip(results) {
                let _ = job.reply.send(Ok(r));
            }
            return;
        }
    }
    for job in batch.drain(..) {
        let alone = async {
            let mut tx = pool.begin().await?;
            let r = create_in(&mut tx, job.workspace_id, job.new).await?;
            tx.commit().await?;
            Ok(r)
        }
        .await;
        let _ = job.reply.send(alone);
    }
}
