//! Across nodes through PostgreSQL LISTEN/NOTIFY: signals (ids only: NOTIFY
//! is limited to 8000 bytes; the receiving node reads what it needs) and
//! the event log's head, which wakes the other nodes' consumers.

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use super::Signal;
use crate::events::LogHead;
use crate::store::Store;

const CHANNEL: &str = "storedesk_events";

pub struct Notifier {
    node: u64,
    outgoing: mpsc::Sender<String>,
    /// The newest head this node committed, and what wakes the sender.
    head: std::sync::Arc<(std::sync::atomic::AtomicI64, tokio::sync::Notify)>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope {
    node: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signal: Option<Signal>,
    /// The newest event id the sender committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    head: Option<i64>,
}

impl Notifier {
    pub async fn start(url: &str, store: Store, local: mpsc::Sender<Signal>, head: LogHead) -> anyhow::Result<Self> {
        let node = rand::random::<u64>();
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        // A weak handle: when the node's bus is dropped, this task ends
        // instead of keeping the dispatcher alive.
        let local = local.downgrade();
        tokio::spawn(async move {
            loop {
                // PgListener reconnects by itself; an error here is a
                // dropped connection it is re-establishing.
                match listener.recv().await {
                    Ok(n) => match serde_json::from_str::<Envelope>(n.payload()) {
                        Ok(env) if env.node != node => {
                            if let Some(h) = env.head {
                                head.advance(h);
                            }
                            if let Some(signal) = env.signal {
                                let Some(local) = local.upgrade() else { return };
                                if local.send(signal).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "bad notification from another node"),
                    },
                    Err(e) => {
                        if local.upgrade().is_none() {
                            return;
                        }
                        tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                }
            }
        });
        // NOTIFYs leave from one task, many per statement when busy, so a
        // burst costs few round trips and publishers never wait. The log's
        // head is sent once per round, the newest: the other nodes only need
        // to know that it moved.
        let (outgoing, mut rx) = mpsc::channel::<String>(16_384);
        let head_out = std::sync::Arc::new((std::sync::atomic::AtomicI64::new(0), tokio::sync::Notify::new()));
        let pending = head_out.clone();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(64);
            let mut sent = 0;
            loop {
                tokio::select! {
                    n = rx.recv_many(&mut batch, 64) => if n == 0 { return },
                    _ = pending.1.notified() => {}
                }
                let head = pending.0.load(std::sync::atomic::Ordering::Acquire);
                if head > sent {
                    if let Ok(p) = serde_json::to_string(&Envelope {
                        node,
                        signal: None,
                        head: Some(head),
                    }) {
                        batch.push(p);
                    }
                    sent = head;
                }
                if batch.is_empty() {
                    continue;
                }
                if let Err(e) = store.notify_many(CHANNEL, &batch).await {
                    tracing::warn!(error = %e, "NOTIFY failed; other nodes see these changes at their next look");
                }
                batch.clear();
            }
        });
        Ok(Self {
            node,
            outgoing,
            head: head_out,
        })
    }

    fn send(&self, env: &Envelope) {
        let Ok(payload) = serde_json::to_string(env) else {
            return;
        };
        if self.outgoing.try_send(payload).is_err() {
            tracing::warn!("NOTIFY queue full; other nodes see this at their next look");
        }
    }

    pub async fn notify_signal(&self, signal: &Signal) {
        self.send(&Envelope {
            node: self.node,
            signal: Some(signal.clone()),
            head: None,
        });
    }

    pub fn notify_head(&self, id: i64) {
        self.head.0.fetch_max(id, std::sync::atomic::Ordering::AcqRel);
        self.head.1.notify_one();
    }
}
