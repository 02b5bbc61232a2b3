//! Rate limits for the public side: token buckets per client address, and
//! a cap on open sockets per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A token bucket: `burst` at once, refilled at `per_sec`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub burst: f64,
    pub per_sec: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn full(rate: Rate) -> Self {
        Self {
            tokens: rate.burst,
            at: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, rate: Rate) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * rate.per_sec).min(rate.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Buckets by address. Old entries are swept as the map grows.
pub struct PerIp {
    rate: Rate,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl PerIp {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `ip`, or gives the 429 to answer: `what` names the
    /// limit in metrics, and Retry-After is when the next token is due.
    pub fn check(&self, ip: IpAddr, what: &'static str, message: &str) -> Result<(), crate::error::AppError> {
        if self.allow(ip) {
            return Ok(());
        }
        metrics::counter!("storedesk_rate_limited_total", "what" => what).increment(1);
        let wait = (1.0 / self.rate.per_sec.max(0.001)).ceil() as u64;
        Err(crate::error::AppError::rate_limited(message, wait))
    }

    pub fn allow(&self, ip: IpAddr) -> bool {
        let mut m = self.buckets.lock().expect("limiter lock");
        if m.len() > 100_000 {
            let idle = std::time::Duration::from_secs_f64(self.rate.burst / self.rate.per_sec.max(0.001));
            m.retain(|_, b| b.at.elapsed() < idle);
        }
        m.entry(ip).or_insert_with(|| Bucket::full(self.rate)).take(self.rate)
    }
}

/// Counts open sockets per address; the guard gives the slot back.
#[derive(Default)]
pub struct OpenSockets {
    open: Mutex<HashMap<IpAddr, usize>>,
}

pub struct SocketSlot {
    owner: Arc<OpenSockets>,
    ip: IpAddr,
}

impl OpenSockets {
    pub fn acquire(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<SocketSlot> {
        let mut m = self.open.lock().expect("sockets lock");
        let n = m.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(SocketSlot {
            owner: self.clone(),
            ip,
        })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut m = self.owner.open.lock().expect("sockets lock");
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// The limits of one node.
pub struct Limits {
    /// Public pages and endpoints (`/p/...`, config, uploads).
    pub public: PerIp,
    /// Console sign-in and invitation forms: slow enough to make guessing
    /// passwords pointless.
    pub logins: PerIp,
    /// New widget sockets.
    pub connects: PerIp,
    /// Self-service sign-ups (`--signup`): three, then one per ten minutes.
    pub signups: PerIp,
    pub sockets: Arc<OpenSockets>,
    pub max_sockets_per_ip: usize,
    /// Frames a visitor socket may send.
    pub frames: Rate,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            public: PerIp::new(Rate {
                burst: 60.0,
                per_sec: 10.0,
            }),
            logins: PerIp::new(Rate {
                burst: 10.0,
                per_sec: 0.2,
            }),
            connects: PerIp::new(Rate {
                burst: 30.0,
                per_sec: 2.0,
            }),
            signups: PerIp::new(Rate {
                burst: 3.0,
                per_sec: 1.0 / 600.0,
            }),
            sockets: Arc::new(OpenSockets::default()),
            max_sockets_per_ip: 50,
            frames: Rate {
                burst: 30.0,
                per_sec: 5.0,
            },
        }
    }
}

impl Limits {
    /// No limits: for benchmarks, where every client shares one address.
    pub fn unlimited() -> Self {
        let free = Rate {
            burst: 1e12,
            per_sec: 1e12,
        };
        Self {
            public: PerIp::new(free),
            logins: PerIp::new(free),
            connects: PerIp::new(free),
            signups: PerIp::new(free),
            sockets: Arc::new(OpenSockets::default()),
            max_sockets_per_ip: usize::MAX,
            frames: free,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses() {
        let l = PerIp::new(Rate {
            burst: 3.0,
            per_sec: 0.001,
        });
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(l.allow(ip) && l.allow(ip) && l.allow(ip));
        assert!(!l.allow(ip));
        assert!(l.allow("127.0.0.2".parse().unwrap()));
    }

    #[test]
    fn socket_slots_are_returned() {
        let s = Arc::new(OpenSockets::default());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = s.acquire(ip, 1).unwrap();
        assert!(s.acquire(ip, 1).is_none());
        drop(a);
        assert!(s.acquire(ip, 1).is_some());
    }
}
