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

/// Resolves names, dropping refused addresses.
struct Guard(Arc<Settings>);

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.0.allow_private();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = allowed(&host, allow)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The addresses `host` resolves to that a delivery may reach; an error
/// saying why when there are none.
async fn allowed(host: &str, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| format!("{host} does not resolve ({e})"))?
        .collect();
    if found.is_empty() {
        return Err(format!("{host} does not resolve"));
    }
    if allow_private {
        return Ok(found);
    }
    // One refused address refuses the name: it may be the one used.
    if let Some((a, why)) = found.iter().find_map(|a| refused_address(a.ip()).map(|w| (a.ip(), w))) {
        return Err(format!(
            "{host} resolves to a {why} address ({a}); webhooks go to public addresses only"
        ));
    }
    Ok(found)
}

/// Whether `url` may be called: its host (a literal address or a name,
/// resolved now) must be public unless the node allows private ones.
pub async fn check_destination(url: &url::Url, allow_private: bool) -> Result<(), String> {
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match refused_address(ip) {
            Some(why) if !allow_private => {
                Err(format!("{ip} is a {why} address; webhooks go to public addresses only"))
            }
            _ => Ok(()),
        };
    }
    allowed(host, allow_private).await.map(|_| ())
}

pub fn build(settings: Arc<Settings>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(std::time::Duration::from_secs(5))
        .user_agent(concat!("storedesk-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(Guard(settings)))
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
