//! Site monitors' moving parts: the settings a node runs them with, the
//! probes (`http`, `tls`, `rdap`; a hand-entered date needs none) and the
//! runner that claims due monitors and checks them with bounded
//! concurrency. The rules are `domain::monitor`, the rows
//! `store::monitors`, what a check leads to `service::monitors`.

pub mod http;
pub mod rdap;
pub mod runner;
pub mod tls;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use crate::webhooks::client::Allowed;

/// How this node runs monitors. Read before every round, so tests may
/// change a running node's.
#[derive(Debug)]
pub struct Settings {
    /// `--monitor-allow`: networks a monitor may probe although they are
    /// loopback, private or link-local.
    allow: RwLock<Vec<ipnet::IpNet>>,
    /// `--monitor-min-interval` (seconds).
    min_interval_s: AtomicI64,
    /// `--rdap-url`: the RDAP server asked about domains (no trailing `/`).
    rdap_url: RwLock<String>,
    /// How soon a first failure is checked again (ms).
    retry_ms: AtomicI64,
    /// How often the runner looks for due monitors (ms).
    poll_ms: AtomicI64,
    /// How long the history is kept (ms).
    retention_ms: AtomicI64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            allow: RwLock::new(vec![]),
            min_interval_s: AtomicI64::new(30),
            rdap_url: RwLock::new("https://rdap.org".into()),
            retry_ms: AtomicI64::new(20_000),
            poll_ms: AtomicI64::new(1_000),
            retention_ms: AtomicI64::new(90 * 86_400_000),
        }
    }
}

/// Checks one node runs at once.
pub const PARALLEL: usize = 16;
/// The most of an HTTP answer read for `expect_text`.
pub const READ_MAX: usize = 256 * 1024;

impl Settings {
    pub fn allowed(&self) -> Allowed {
        Allowed {
            any: false,
            nets: self.allow.read().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
    pub fn set_allow(&self, nets: Vec<ipnet::IpNet>) {
        *self.allow.write().unwrap_or_else(|e| e.into_inner()) = nets;
    }
    pub fn min_interval_s(&self) -> i64 {
        self.min_interval_s.load(Ordering::Relaxed)
    }
    pub fn set_min_interval_s(&self, s: i64) {
        self.min_interval_s.store(s.max(1), Ordering::Relaxed);
    }
    pub fn rdap_url(&self) -> String {
        self.rdap_url.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn set_rdap_url(&self, url: &str) {
        *self.rdap_url.write().unwrap_or_else(|e| e.into_inner()) = url.trim_end_matches('/').to_string();
    }
    pub fn retry_ms(&self) -> i64 {
        self.retry_ms.load(Ordering::Relaxed)
    }
    pub fn set_retry_ms(&self, ms: i64) {
        self.retry_ms.store(ms.max(10), Ordering::Relaxed);
    }
    pub fn poll(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.poll_ms.load(Ordering::Relaxed) as u64)
    }
    pub fn set_poll_ms(&self, ms: i64) {
        self.poll_ms.store(ms.max(10), Ordering::Relaxed);
    }
    pub fn retention_ms(&self) -> i64 {
        self.retention_ms.load(Ordering::Relaxed)
    }
    pub fn set_retention_ms(&self, ms: i64) {
        self.retention_ms.store(ms.max(60_000), Ordering::Relaxed);
    }
}

/// Parses `--monitor-allow`: networks or single addresses, comma-separated.
pub fn parse_allow(raw: &str) -> Result<Vec<ipnet::IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("'{s}' is not a network (CIDR) or an address"))
        })
        .collect()
}

/// The node's monitor settings as the guard reads them at connect time.
pub fn allowed_fn(settings: &Arc<Settings>) -> Arc<dyn Fn() -> Allowed + Send + Sync> {
    let s = settings.clone();
    Arc::new(move || s.allowed())
}
