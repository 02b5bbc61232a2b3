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
        // burst costs few round trips and publishers never wait. Head
        // notices in one burst collapse into the newest.
        let (outgoing, mut rx) = mpsc::channel::<String>(16_384);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(64);
            while rx.recv_many(&mut batch, 64).await > 0 {
                if let Err(e) = store.notify_many(CHANNEL, &batch).await {
                    tracing::warn!(error = %e, "NOTIFY failed; other nodes see these changes at their next look");
                }
                batch.clear();
            }
        });
        Ok(Self { node, outgoing })
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
        self.send(&Envelope {
            node: self.node,
            signal: None,
            head: Some(id),
        });
    }
}
