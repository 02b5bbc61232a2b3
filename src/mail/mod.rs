//! The e-mail channel's moving parts: the built-in SMTP listener that takes
//! mail for support addresses, and the sender that empties the outbox
//! through an SMTP relay.

pub mod check;
pub mod imap;
pub mod inbound;
pub mod outbound;
pub mod smtp_server;

use std::sync::Arc;

/// Where mail goes out: `smtp://[user:pass@]host:port?tls=none|starttls|tls`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub credentials: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tls {
    None,
    StartTls,
    Tls,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        write!(
            f,
            "smtp://{}{}:{}?tls={:?}",
            if self.credentials.is_some() { "***@" } else { "" },
            self.host,
            self.port,
            self.tls
        )
    }
}

impl std::str::FromStr for Relay {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix("smtp://")
            .ok_or("the relay URL must start with smtp://")?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let credentials = creds
            .map(|c| {
                let (u, p) = c.split_once(':').ok_or("credentials must be user:password")?;
                let dec = |v: &str| percent_decode(v);
                Ok::<_, String>((dec(u), dec(p)))
            })
            .transpose()?;
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| format!("bad port '{p}'"))?),
            None => (hostport.to_string(), 25),
        };
        if host.is_empty() {
            return Err("the relay URL has no host".into());
        }
        let tls = match query
            .split('&')
            .find_map(|kv| kv.strip_prefix("tls="))
            .unwrap_or("starttls")
        {
            "none" => Tls::None,
            "starttls" => Tls::StartTls,
            "tls" => Tls::Tls,
            other => return Err(format!("tls must be none, starttls or tls, not '{other}'")),
        };
        Ok(Relay {
            host,
            port,
            tls,
            credentials,
        })
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The node's mail settings.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// Support addresses are `SLUG@domain`, reply addresses `SLUG+TOKEN@domain`.
    pub domain: String,
    pub relay: Option<Relay>,
    /// The address customers reach this installation at, for links in mail.
    pub public_url: Option<String>,
}

pub type SharedMail = Arc<MailConfig>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_urls() {
        let r: Relay = "smtp://user:p%40ss@mail.example:587?tls=starttls".parse().unwrap();
        assert_eq!((r.host.as_str(), r.port, r.tls), ("mail.example", 587, Tls::StartTls));
        assert_eq!(r.credentials, Some(("user".into(), "p@ss".into())));
        assert!(!format!("{r:?}").contains("p@ss"));
        let r: Relay = "smtp://127.0.0.1:2525?tls=none".parse().unwrap();
        assert_eq!((r.port, r.tls, r.credentials), (2525, Tls::None, None));
        assert!("http://x".parse::<Relay>().is_err());
        assert!("smtp://x:99999".parse::<Relay>().is_err());
        assert!("smtp://x:25?tls=maybe".parse::<Relay>().is_err());
    }
}
