//! The running application: shared state and the server loop.

use std::future::Future;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::http::limit::Limits;
use crate::realtime::Bus;
use crate::store::Store;

/// Everything a request handler may use. Cloned per request (cheap).
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub bus: Bus,
    /// This node's knowledge-base search index.
    pub kb: crate::search::KbIndex,
    pub limits: Arc<Limits>,
    pub metrics: PrometheusHandle,
    pub started: Arc<std::time::Instant>,
}

impl AppState {
    /// Starts the node's event bus; `database_url` lets it LISTEN on
    /// PostgreSQL for events from other nodes.
    pub async fn start(store: Store, database_url: &str) -> anyhow::Result<Self> {
        let bus = Bus::start(store.clone(), Some(database_url)).await?;
        let kb = crate::search::KbIndex::open(None)?;
        rebuild_kb(&store, &kb).await?;
        let _ = bus.hub.kb.set(kb.clone());
        Ok(Self { store, bus, kb, limits: Arc::new(Limits::default()), metrics: crate::telemetry::metrics_handle(), started: Arc::new(std::time::Instant::now()) })
    }
}

/// Fills the search index from the database (every start: the index lives
/// in memory, per node).
async fn rebuild_kb(store: &Store, kb: &crate::search::KbIndex) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    kb.clear()?;
    let mut after = 0;
    loop {
        let page = store.published_articles_after(after, 2000).await?;
        let Some(last) = page.last() else { break };
        after = last.0.id;
        kb.upsert_many(page.iter().map(|(a, slug)| crate::kb::doc_of(a, slug)).collect())?;
    }
    tracing::info!(articles = kb.doc_count(), ms = started.elapsed().as_millis() as u64, "knowledge base indexed");
    Ok(())
}

/// Serves the app on `listener` until `shutdown` completes, then lets
/// in-flight requests finish. Tests call this with a port-0 listener.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let router = crate::http::router(state);
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await
}
