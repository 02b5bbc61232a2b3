//! Every background task of a node, started from one place and stopped
//! together: the once-per-cluster event consumers, timers, pruning. (The
//! per-node consumers start with what they serve: the realtime fan-out
//! with the bus, the ticket indexer with its index.)

use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use crate::service::Services;

/// Tells the node's tasks to stop; they finish what they hold and end.
#[derive(Clone)]
pub struct Shutdown {
    tx: std::sync::Arc<watch::Sender<bool>>,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self {
            tx: std::sync::Arc::new(watch::channel(false).0),
            tasks: Default::default(),
        }
    }
}

impl Shutdown {
    pub fn signal(&self) {
        self.tx.send_replace(true);
    }

    /// Signals and waits (up to `grace`) for the tasks started by `start`
    /// to end: a cluster consumer gives its lease up, so another node takes
    /// over at once instead of when the lease runs out.
    pub async fn stop(&self, grace: Duration) {
        self.signal();
        let tasks: Vec<_> = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = tokio::time::timeout(grace, futures::future::join_all(tasks)).await;
    }

    /// Runs `task` until it ends or the node stops (then it is dropped
    /// where it waits: the outbox sender's claimed mail is taken again after
    /// its lease, the SMTP listener stops accepting).
    pub fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(&self, task: F) {
        let mut stop = self.watch();
        self.keep(tokio::spawn(async move {
            tokio::select! {
                _ = task => {}
                _ = stopped(&mut stop) => {}
            }
        }));
    }

    fn keep(&self, task: tokio::task::JoinHandle<()>) {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }

    pub fn watch(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

/// Whether the node is stopping: signalled, or its state (which holds the
/// sender) is gone. A task must not take a dropped sender for "go on": its
/// `changed()` would answer at once, forever.
pub fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Completes once the node stops (see `stopping`).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Settings of the background tasks.
#[derive(Debug, Clone)]
pub struct Options {
    /// Events older than this are pruned (once every cluster consumer has
    /// passed them).
    pub event_retention: Duration,
    /// How often the timers (SLA warnings and breaches, time-based rules) look.
    pub timers: Duration,
}

/// The lease of the timers (its position is unused: never below the
/// consumers', so it never holds back pruning).
const TIMERS: &str = "timers";

impl Default for Options {
    fn default() -> Self {
        Self {
            event_retention: Duration::from_secs(30 * 86_400),
            timers: Duration::from_secs(5),
        }
    }
}

/// Starts the node's background tasks; they end when `shutdown` is signalled.
pub fn start(svc: &Services, shutdown: &Shutdown, options: Options) {
    let owner = svc.bus.node.clone();
    shutdown.keep(tokio::spawn(crate::events::cluster::run(
        svc.store.clone(),
        svc.bus.head.clone(),
        crate::events::outbox::NAME,
        owner,
        crate::events::outbox::Feeder,
        shutdown.watch(),
    )));
    shutdown.keep(tokio::spawn(crate::events::cluster::run(
        svc.store.clone(),
        svc.bus.head.clone(),
        crate::events::rules::NAME,
        svc.bus.node.clone(),
        crate::events::rules::Runner(svc.clone()),
        shutdown.watch(),
    )));
    shutdown.keep(tokio::spawn(crate::events::cluster::run(
        svc.store.clone(),
        svc.bus.head.clone(),
        crate::events::sla::NAME,
        svc.bus.node.clone(),
        crate::events::sla::Clocks(svc.clone()),
        shutdown.watch(),
    )));
    shutdown.keep(tokio::spawn(crate::events::cluster::run(
        svc.store.clone(),
        svc.bus.head.clone(),
        crate::events::routing::NAME,
        svc.bus.node.clone(),
        crate::events::routing::Router(svc.clone()),
        shutdown.watch(),
    )));
    shutdown.keep(tokio::spawn(crate::events::cluster::run(
        svc.store.clone(),
        svc.bus.head.clone(),
        crate::events::surveys::NAME,
        svc.bus.node.clone(),
        crate::events::surveys::Asker(svc.clone()),
        shutdown.watch(),
    )));
    shutdown.keep(tokio::spawn(crate::events::cluster::run(
        svc.store.clone(),
        svc.bus.head.clone(),
        crate::events::time_reports::NAME,
        svc.bus.node.clone(),
        crate::events::time_reports::Notifier(svc.clone()),
        shutdown.watch(),
    )));
    shutdown.keep(tokio::spawn(crate::events::cluster::run(
        svc.store.clone(),
        svc.bus.head.clone(),
        crate::events::reports::NAME,
        svc.bus.node.clone(),
        crate::events::reports::Rollups::new(svc.clone()),
        shutdown.watch(),
    )));
    shutdown.keep(tokio::spawn(crate::events::cluster::run(
        svc.store.clone(),
        svc.bus.head.clone(),
        crate::events::webhooks::NAME,
        svc.bus.node.clone(),
        crate::events::webhooks::Queuer(svc.clone()),
        shutdown.watch(),
    )));
    // Every node sends due webhook deliveries (each claimed by one).
    shutdown.spawn(crate::webhooks::sender::run(svc.clone()));
    shutdown.keep(tokio::spawn(crate::events::cluster::run(
        svc.store.clone(),
        svc.bus.head.clone(),
        crate::events::messengers::NAME,
        svc.bus.node.clone(),
        crate::events::messengers::Queuer,
        shutdown.watch(),
    )));
    // Site monitors: every node runs due checks (each claimed by one).
    shutdown.spawn(crate::monitors::runner::run(svc.clone()));
    // Messenger channels: Telegram bots that poll, and replies going out.
    shutdown.spawn(crate::channels::telegram::poll::run(svc.clone()));
    shutdown.spawn(crate::channels::outbound::run(svc.clone()));
    // Totals asked to be built again while no node ran (the migration that
    // brought them, a rebuild asked from the command line): the event wakes
    // the consumer at once rather than at the next change.
    shutdown.spawn({
        let store = svc.store.clone();
        async move {
            match store.pending_rebuilds().await {
                Ok(ws) => {
                    for w in ws {
                        if let Err(e) = store.request_report_rebuild(w).await {
                            tracing::warn!(error = %e, "report rebuild not asked");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "report rebuilds not read"),
            }
        }
    });
    let timers = options.timers;
    shutdown.spawn(every(timers, {
        let svc = svc.clone();
        move || {
            let svc = svc.clone();
            async move {
                // One node at a time runs the timers (what they do is
                // recorded once anyway); the lease runs out if it dies.
                let until = crate::store::now_ms() + 3 * timers.as_millis() as i64;
                match svc.store.acquire_lease(TIMERS, &svc.bus.node, until, i64::MAX).await {
                    Ok(Some(_)) => {
                        if let Err(e) = svc.run_timers().await {
                            tracing::warn!(error = %e, "timers not run");
                        }
                        if let Err(e) = svc.route(None).await {
                            tracing::warn!(error = %e, "queues not routed");
                        }
                        if let Err(e) = svc.send_due_surveys().await {
                            tracing::warn!(error = %e, "surveys not sent");
                        }
                        if let Err(e) = svc.sample_online().await {
                            tracing::warn!(error = %e, "online time not sampled");
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::debug!(error = %e, "timers lease not taken"),
                }
            }
        }
    }));
    shutdown.spawn(every(Duration::from_secs(20), {
        let svc = svc.clone();
        move || {
            let svc = svc.clone();
            async move {
                if let Err(e) = svc.wake_snoozed().await {
                    tracing::warn!(error = %e, "snoozed tickets not checked");
                }
            }
        }
    }));
    shutdown.spawn(every(Duration::from_secs(3600), {
        let store = svc.store.clone();
        let monitors = svc.monitors.clone();
        move || {
            let store = store.clone();
            let monitors = monitors.clone();
            let retention = options.event_retention;
            async move {
                let before = crate::store::now_ms() - retention.as_millis() as i64;
                match store.prune_events(before, 5_000).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "old events pruned"),
                    Err(e) => tracing::warn!(error = %e, "events not pruned"),
                }
                // Webhook delivery logs are kept as long as the events.
                match store.prune_webhook_deliveries(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deliveries = n, "old webhook deliveries pruned"),
                    Err(e) => tracing::warn!(error = %e, "webhook deliveries not pruned"),
                }
                // Store pages' events: kept as long as audiences look back.
                let before = crate::store::now_ms() - crate::service::campaigns::EVENT_RETENTION_MS;
                match store.prune_visitor_events(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "old visitor events pruned"),
                    Err(e) => tracing::warn!(error = %e, "visitor events not pruned"),
                }
                let before = crate::store::now_ms() - monitors.retention_ms();
                match store.prune_monitor_checks(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(checks = n, "old monitor checks pruned"),
                    Err(e) => tracing::warn!(error = %e, "monitor checks not pruned"),
                }
            }
        }
    }));
}

/// Runs `task` every `period`, the first time after one period (stopped
/// with the node by `Shutdown::spawn`).
async fn every<F, Fut>(period: Duration, task: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tick.tick().await;
        task().await;
    }
}

/// Starts the SMTP listener, the IMAP poller and the outbox sender as
/// configured; they stop with the node's other tasks.
pub async fn start_mail(state: &crate::app::AppState, args: &crate::config::MailArgs) -> anyhow::Result<()> {
    let config = crate::mail::MailConfig {
        domain: args.mail_domain.to_lowercase(),
        relay: args.smtp_relay.clone(),
        public_url: args.public_url.clone(),
    };
    if let Some(addr) = args.smtp_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for SMTP on {addr}"))?;
        tracing::info!(smtp = %listener.local_addr()?, domain = %config.domain, "taking mail");
        let handler = std::sync::Arc::new(crate::mail::inbound::Inbound {
            svc: state.svc.clone(),
            domain: config.domain.clone(),
        });
        let mut limits = crate::mail::smtp_server::Limits::default();
        if let (Some(cert), Some(key)) = (&args.smtp_tls_cert, &args.smtp_tls_key) {
            limits.tls = Some(crate::mail::smtp_server::tls_acceptor(cert, key)?);
        }
        state.shutdown.spawn(crate::mail::smtp_server::serve(
            listener,
            config.domain.clone(),
            limits,
            handler,
        ));
    }
    match &config.relay {
        Some(r) => tracing::info!(relay = ?r, "sending mail"),
        None => tracing::info!("no --smtp-relay: outgoing mail waits in the outbox"),
    }
    // Workspaces whose mailbox lives elsewhere: polled (or watched with IDLE) over IMAP.
    state.shutdown.spawn(crate::mail::imap::run(
        crate::mail::inbound::Inbound {
            svc: state.svc.clone(),
            domain: config.domain.clone(),
        },
        std::time::Duration::from_secs(60),
    ));
    state
        .shutdown
        .spawn(crate::mail::outbound::run(state.store.clone(), config));
    Ok(())
}
