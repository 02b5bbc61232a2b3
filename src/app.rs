//! The running application: shared state and the server loop.

use std::future::Future;
use std::path::Path;
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
    /// The use cases: every write goes through these.
    pub svc: crate::service::Services,
    /// Stops this node's background tasks (`jobs`).
    pub shutdown: crate::jobs::Shutdown,
    /// This node's knowledge-base search index.
    pub kb: crate::search::KbIndex,
    /// This node's ticket search index (agents' `q`), kept current by
    /// `ticket_search`.
    pub tickets: crate::search::TicketIndex,
    pub limits: Arc<Limits>,
    pub metrics: PrometheusHandle,
    pub started: Arc<std::time::Instant>,
    /// How this node is reached from outside.
    pub site: Arc<Site>,
    /// Sites the widget was refused on, counted between writes.
    pub refused: Arc<crate::http::origins::RefusedTally>,
}

/// How the node is reached from outside. Absolute links (canonical URLs,
/// sitemaps, sign-in and invitation links) are built from `public_url`,
/// never from the `Host` or `X-Forwarded-*` a client sends: those are the
/// client's to forge, and a shared cache or a mail would keep the forgery.
#[derive(Debug, Clone)]
pub struct Site {
    /// e.g. `https://help.acme.test`, without a trailing slash.
    pub public_url: String,
    pub metrics: MetricsAccess,
    /// Proxies whose `Forwarded`/`X-Forwarded-For` name the client.
    pub trusted_proxies: crate::http::client_addr::TrustedProxies,
    /// `--mail-domain` and `--smtp-relay`, for the mail settings page's test mail.
    pub mail_domain: String,
    pub mail_relay: Option<crate::mail::Relay>,
    /// Telegram's Bot API (`--telegram-api-url`): a bot connected now is
    /// served by this one from then on.
    pub telegram_api_url: String,
    /// `--signup`: anyone may make a new store at `/signup`.
    pub signup: bool,
}

/// Who may read `/metrics` on the main listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsAccess {
    Open,
    /// A bearer token, kept as its SHA-256.
    Token([u8; 32]),
    /// Served on its own listener (`--metrics-listen`) instead.
    Elsewhere,
}

impl Site {
    /// Whether shoppers and agents reach us over https: then cookies are
    /// `Secure`. Over plain http a browser would drop a `Secure` cookie and
    /// sign-in could never work.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The attributes every cookie of ours carries besides its SameSite.
    pub fn cookie_flags(&self) -> &'static str {
        if self.https() {
            "HttpOnly; Secure"
        } else {
            "HttpOnly"
        }
    }

    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_string(),
            metrics: MetricsAccess::Open,
            trusted_proxies: Default::default(),
            mail_domain: "localhost".into(),
            mail_relay: None,
            telegram_api_url: "https://api.telegram.org".into(),
            signup: false,
        }
    }
}

impl Default for Site {
    fn default() -> Self {
        Self::new("http://localhost:8080")
    }
}

impl AppState {
    /// Starts the node's event bus; `database_url` lets it LISTEN on
    /// PostgreSQL for events from other nodes. Search indexes live in memory.
    pub async fn start(store: Store, database_url: &str) -> anyhow::Result<Self> {
        Self::start_in(store, database_url, None).await
    }

    /// As `start`, with the ticket search index on disk under `data_dir`
    /// (when given), so a restart continues it instead of reading every
    /// message again.
    pub async fn start_in(store: Store, database_url: &str, data_dir: Option<&Path>) -> anyhow::Result<Self> {
        Self::start_with(store, database_url, data_dir, crate::jobs::Options::default()).await
    }

    /// As `start_in`, with the background tasks' settings.
    pub async fn start_with(
        store: Store,
        database_url: &str,
        data_dir: Option<&Path>,
        options: crate::jobs::Options,
    ) -> anyhow::Result<Self> {
        // First, so what the tasks below record from their start is kept.
        let metrics = crate::telemetry::metrics_handle();
        let shutdown = crate::jobs::Shutdown::default();
        let bus = Bus::start(store.clone(), Some(database_url), shutdown.watch()).await?;
        let kb = crate::search::KbIndex::open(None)?;
        rebuild_kb(&store, &kb).await?;
        let _ = bus.hub.kb.set(kb.clone());
        let tickets = ticket_index(&store, &bus, data_dir, &shutdown)?;
        let svc = crate::service::Services::new(store.clone(), bus.clone());
        crate::jobs::start(&svc, &shutdown, options);
        Ok(Self {
            store,
            bus,
            svc,
            shutdown,
            kb,
            tickets,
            limits: Arc::new(Limits::default()),
            metrics,
            started: Arc::new(std::time::Instant::now()),
            site: Arc::new(Site::default()),
            refused: Default::default(),
        })
    }
}

/// The store's ticket index when another state on the same store (a second
/// app in one process, as tests make) already opened one; else a new one,
/// attached to the store and filled by its own task. It is filled in the
/// background: the server answers at once, searches see the index grow.
fn ticket_index(
    store: &Store,
    bus: &Bus,
    data_dir: Option<&Path>,
    shutdown: &crate::jobs::Shutdown,
) -> anyhow::Result<crate::search::TicketIndex> {
    use crate::search::TicketIndex;
    if let Some(index) = store.ticket_index() {
        return Ok(index);
    }
    let index = match data_dir.map(|d| d.join("search").join("tickets")) {
        None => TicketIndex::open(None)?,
        Some(dir) => TicketIndex::open(Some(&dir)).or_else(|e| {
            // Two nodes started with one data dir: the second keeps its own
            // copy in memory rather than failing to start.
            tracing::warn!(dir = %dir.display(), error = %e, "ticket search index unavailable on disk; keeping it in memory");
            TicketIndex::open(None)
        })?,
    };
    store.attach_ticket_index(&index);
    crate::ticket_search::start(store.clone(), bus.head.clone(), &index, shutdown.watch());
    Ok(index)
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
    tracing::info!(
        articles = kb.doc_count(),
        ms = started.elapsed().as_millis() as u64,
        "knowledge base indexed"
    );
    Ok(())
}

/// Serves the app on `listener` until `shutdown` completes, then lets
/// in-flight requests finish. Tests call this with a port-0 listener.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = crate::http::router(state);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
