//! The HTTP client of webhook deliveries: no redirects, a timeout, a capped
//! read of the answer, and a resolver that never hands out a loopback,
//! private or link-local address (unless the node allows them), so a name
//! that resolves somewhere else between the check and the connection
//! (DNS rebinding) still cannot reach the server's own network.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::{Settings, READ_MAX, TIMEOUT};
use crate::domain::webhook::{excerpt, refused_address};
use crate::store::webhooks::Attempt;

/// Which of the addresses refused by default a client may still reach:
/// all of them (`--webhooks-allow-private`) or the operator's networks
/// (`--monitor-allow CIDR,...`).
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    pub any: bool,
    pub nets: Vec<ipnet::IpNet>,
}

impl Allowed {
    pub fn any(on: bool) -> Self {
        Self { any: on, nets: vec![] }
    }

    /// Why `ip` may not be reached, or `None` when it may.
    pub fn refuses(&self, ip: IpAddr) -> Option<&'static str> {
        let why = refused_address(ip)?;
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        (!self.any && !self.nets.iter().any(|n| n.contains(&ip) || n.contains(&mapped))).then_some(why)
    }
}

/// Resolves names, dropping refused addresses; asks `allowed` each time,
/// so a running node's settings apply at once.
pub struct Guard {
    allowed: Arc<dyn Fn() -> Allowed + Send + Sync>,
    what: &'static str,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = (self.allowed)();
        let what = self.what;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = resolve_allowed(&host, &allow, what)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A resolver for a reqwest client that refuses what `allowed` refuses;
/// `what` names the client in errors ("webhooks", "monitors").
pub fn guard(allowed: Arc<dyn Fn() -> Allowed + Send + Sync>, what: &'static str) -> Arc<Guard> {
    Arc::new(Guard { allowed, what })
}

/// The addresses `host` resolves to that a call may reach; an error
/// saying why when there are none.
pub async fn resolve_allowed(host: &str, allow: &Allowed, what: &str) -> Result<Vec<SocketAddr>, String> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| format!("{host} does not resolve ({e})"))?
        .collect();
    if found.is_empty() {
        return Err(format!("{host} does not resolve"));
    }
    // One refused address refuses the name: it may be the one used.
    if let Some((a, why)) = found.iter().find_map(|a| allow.refuses(a.ip()).map(|w| (a.ip(), w))) {
        return Err(format!(
            "{host} resolves to a {why} address ({a}); {what} go to public addresses only"
        ));
    }
    Ok(found)
}

/// Whether `url` may be called: its host (a literal address or a name,
/// resolved now) must be public unless the node allows private ones.
pub async fn check_destination(url: &url::Url, allow_private: bool) -> Result<(), String> {
    check_destination_for(url, &Allowed::any(allow_private), "webhooks").await
}

/// As `check_destination`, with the networks `allow` lets through.
pub async fn check_destination_for(url: &url::Url, allow: &Allowed, what: &str) -> Result<(), String> {
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match allow.refuses(ip) {
            Some(why) => Err(format!("{ip} is a {why} address; {what} go to public addresses only")),
            None => Ok(()),
        };
    }
    resolve_allowed(host, allow, what).await.map(|_| ())
}

pub fn build(settings: Arc<Settings>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(std::time::Duration::from_secs(5))
        .user_agent(concat!("storedesk-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(guard(
            Arc::new(move || Allowed::any(settings.allow_private())),
            "webhooks",
        ))
        .build()
        .expect("the webhook client builds")
}

/// Posts `body` to `url` with `headers`; a 2xx answer is a delivery.
pub async fn post(
    client: &reqwest::Client,
    settings: &Settings,
    url: &str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> Attempt {
    let failed = |error: String| Attempt {
        status: None,
        excerpt: None,
        error: Some(excerpt(&error)),
        ok: false,
    };
    let parsed = match crate::domain::webhook::parse_url(url) {
        Ok(u) => u,
        Err(e) => return failed(e.to_string()),
    };
    if let Err(e) = check_destination(&parsed, settings.allow_private()).await {
        return failed(e);
    }
    let mut req = client.post(parsed).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let mut res = match req.body(body).send().await {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                format!("no answer within {} s", TIMEOUT.as_secs())
            } else if e.is_connect() {
                format!("cannot connect: {}", root_cause(&e))
            } else {
                root_cause(&e)
            };
            return failed(what);
        }
    };
    let status = res.status();
    let mut read: Vec<u8> = Vec::new();
    while read.len() < READ_MAX {
        match res.chunk().await {
            Ok(Some(c)) => read.extend_from_slice(&c[..c.len().min(READ_MAX - read.len())]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&read);
    Attempt {
        status: Some(i64::from(status.as_u16())),
        excerpt: Some(excerpt(&text)),
        error: (!status.is_success()).then(|| {
            if status.is_redirection() {
                format!("HTTP {status}: redirects are not followed")
            } else {
                format!("HTTP {status}")
            }
        }),
        ok: status.is_success(),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
