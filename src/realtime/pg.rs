//! Fan-out across nodes through PostgreSQL LISTEN/NOTIFY. Payloads carry
//! ids only (NOTIFY is limited to 8000 bytes); the receiving node reads
//! what it needs.

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use super::Event;
use crate::store::Store;

const CHANNEL: &str = "storedesk_events";

pub struct Notifier {
    node: u64,
    outgoing: mpsc::Sender<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope {
    node: u64,
    event: Event,
}

impl Notifier {
    pub async fn start(url: &str, store: Store, local: mpsc::Sender<Event>) -> anyhow::Result<Self> {
        let node = rand::random::<u64>();
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        // A weak handle: when the node's bus is dropped, this task ends
        // instead of keeping the dispatcher alive.
        let local = local.downgrade();
        tokio::spawn(async move {
            loop {
                // PgListener reconnects by itself; a `None`-free error here is
                // a dropped connection it is re-establishing.
                match listener.recv().await {
                    Ok(n) => match serde_json::from_str::<Envelope>(n.payload()) {
                        Ok(env) if env.node != node => {
                            let Some(local) = local.upgrade() else { return };
                            if local.send(env.event).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "bad event from another node"),
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
        // burst of events costs few round trips and publishers never wait.
        let (outgoing, mut rx) = mpsc::channel::<String>(16_384);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(64);
            while rx.recv_many(&mut batch, 64).await > 0 {
                if let Err(e) = store.notify_many(CHANNEL, &batch).await {
                    tracing::warn!(error = %e, "NOTIFY failed; other nodes miss these events until their clients resume");
                }
                batch.clear();
            }
        });
        Ok(Self { node, outgoing })
    }

    pub async fn notify(&self, event: &Event) {
        let payload = match serde_json::to_string(&Envelope { node: self.node, event: event.clone() }) {
            Ok(p) => p,
            Err(_) => return,
        };
        if self.outgoing.try_send(payload).is_err() {
            tracing::warn!("NOTIFY queue full; other nodes miss this event until their clients resume");
        }
    }
}
