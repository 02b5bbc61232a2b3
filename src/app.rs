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
    pub limits: Arc<Limits>,
    pub metrics: PrometheusHandle,
    pub started: Arc<std::time::Instant>,
}

impl AppState {
    /// Starts the node's event bus; `database_url` lets it LISTEN on
    /// PostgreSQL for events from other nodes.
    pub async fn start(store: Store, database_url: &str) -> anyhow::Result<Self> {
        let bus = Bus::start(store.clone(), Some(database_url)).await?;
        Ok(Self { store, bus, limits: Arc::new(Limits::default()), metrics: crate::telemetry::metrics_handle(), started: Arc::new(std::time::Instant::now()) })
    }
}

/// Serves the app on `listener` until `shutdown` completes, then lets
/// in-flight requests finish. Tests call this with a port-0 listener.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let router = crate::http::router(state);
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await
}
