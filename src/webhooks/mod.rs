//! Outbound webhooks' moving parts: the settings a node runs them with,
//! the HTTP client that refuses private addresses, and the sender that
//! claims due deliveries and posts them. (What becomes a delivery is the
//! `events::webhooks` consumer's; the rows are `store::webhooks`.)

pub mod client;
pub mod sender;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

/// How this node sends webhooks. Shared by the API (the subscribe-time
/// address check) and the sender, which reads it before every round, so a
/// test may shorten the windows of a running server.
#[derive(Debug)]
pub struct Settings {
    /// `--webhooks-allow-private`: receivers on loopback/private networks
    /// are allowed (tests, an intranet).
    allow_private: AtomicBool,
    /// The first retry's wait; each failure doubles it (ms).
    backoff_base_ms: AtomicI64,
    /// The longest wait between attempts (ms).
    backoff_max_ms: AtomicI64,
    /// A delivery failing for this long is given up (ms).
    give_up_after_ms: AtomicI64,
    /// A subscription whose every attempt failed for this long is switched
    /// off when a delivery is given up (ms)…
    disable_after_ms: AtomicI64,
    /// …or when this many were given up in a row.
    disable_streak: AtomicI64,
    /// How often the sender looks for due deliveries (ms).
    poll_ms: AtomicI64,
    /// Wakes this node's sender when deliveries were queued.
    pub wake: tokio::sync::Notify,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            allow_private: AtomicBool::new(false),
            backoff_base_ms: AtomicI64::new(30_000),
            backoff_max_ms: AtomicI64::new(3_600_000),
            give_up_after_ms: AtomicI64::new(86_400_000),
            disable_after_ms: AtomicI64::new(86_400_000),
            disable_streak: AtomicI64::new(20),
            poll_ms: AtomicI64::new(1000),
            wake: tokio::sync::Notify::new(),
        }
    }
}

/// Timeout of one delivery (connect, send, answer).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer is read.
pub const READ_MAX: usize = 16 * 1024;
/// How long a claimed delivery stays the claimer's (beyond `TIMEOUT`).
pub const CLAIM: Duration = Duration::from_secs(60);
/// How many deliveries a node sends at once, and to one subscription.
pub const PARALLEL: usize = 32;
pub const PER_HOOK: i64 = 4;

impl Settings {
    pub fn allow_private(&self) -> bool {
        self.allow_private.load(Ordering::Relaxed)
    }

    pub fn set_allow_private(&self, on: bool) {
        self.allow_private.store(on, Ordering::Relaxed);
    }

    /// Sets the retry windows (tests shorten them to milliseconds).
    pub fn set_windows(&self, backoff_base: Duration, backoff_max: Duration, give_up_after: Duration) {
        self.backoff_base_ms
            .store(backoff_base.as_millis() as i64, Ordering::Relaxed);
        self.backoff_max_ms
            .store(backoff_max.as_millis() as i64, Ordering::Relaxed);
        self.give_up_after_ms
            .store(give_up_after.as_millis() as i64, Ordering::Relaxed);
    }

    /// When a subscription is switched off: failing for `after`, or `streak` given up in a row.
    pub fn set_disable(&self, after: Duration, streak: i64) {
        self.disable_after_ms.store(after.as_millis() as i64, Ordering::Relaxed);
        self.disable_streak.store(streak.max(1), Ordering::Relaxed);
    }

    pub fn set_poll(&self, every: Duration) {
        self.poll_ms.store(every.as_millis().max(10) as i64, Ordering::Relaxed);
    }

    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms.load(Ordering::Relaxed) as u64)
    }

    /// The failure policy for an attempt that was the `attempts`-th.
    pub fn policy(&self, attempts: i64, now: i64) -> crate::store::webhooks::FailurePolicy {
        let wait = crate::domain::webhook::backoff_ms(
            attempts,
            self.backoff_base_ms.load(Ordering::Relaxed),
            self.backoff_max_ms.load(Ordering::Relaxed),
            rand::random::<f64>(),
        );
        crate::store::webhooks::FailurePolicy {
            retry_at: now + wait,
            give_up_after: self.give_up_after_ms.load(Ordering::Relaxed),
            disable_after: self.disable_after_ms.load(Ordering::Relaxed),
            disable_streak: self.disable_streak.load(Ordering::Relaxed),
        }
    }
}
