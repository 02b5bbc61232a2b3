//! A small ESMTP server (RFC 5321): enough to take mail for our support
//! addresses on the built-in listener, and to act as the mail sink in
//! tests. What to accept and what to do with a message is the handler's.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A message as received: envelope and raw bytes (dot-unstuffed, CRLF).
#[derive(Debug, Clone)]
pub struct Envelope {
    pub peer: SocketAddr,
    pub helo: String,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
}

/// An SMTP reply: code and text.
pub type Reply = (u16, String);

pub trait Handler: Send + Sync + 'static {
    /// Whether to accept mail for this recipient (checked at RCPT).
    fn recipient(&self, address: &str) -> impl Future<Output = Result<(), Reply>> + Send;
    /// Takes a whole message. Answer 250 only when it is safely stored.
    fn message(&self, envelope: Envelope) -> impl Future<Output = Reply> + Send;
}

#[derive(Clone)]
pub struct Limits {
    pub max_message: usize,
    pub max_recipients: usize,
    pub idle: Duration,
    /// Connections open at once, in all and from one address: a sender
    /// that opens more is told to come back later (421).
    pub max_sessions: usize,
    pub max_per_peer: usize,
    /// Offered as STARTTLS when a certificate is configured.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message: 25 * 1024 * 1024,
            max_recipients: 50,
            idle: Duration::from_secs(300),
            // Postfix allows 50 per client; a message is held in memory
            // while it arrives, so fewer here.
            max_sessions: 200,
            max_per_peer: 20,
            tls: None,
        }
    }
}

/// A TLS acceptor from PEM files: the certificate chain and its key.
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use anyhow::Context;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading {}", key.display()))?;
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}

/// Accepts connections until the listener fails; each in its own task.
pub async fn serve<H: Handler>(listener: TcpListener, hostname: String, limits: Limits, handler: Arc<H>) {
    let open = Arc::new(Sessions::default());
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "smtp accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = open.take(peer.ip(), &limits) else {
            metrics::counter!("storedesk_smtp_refused_total", "reason" => "too_many_connections").increment(1);
            tokio::spawn(async move {
                let _ = stream
                    .write_all(b"421 4.7.0 too many connections from your address, try again later\r\n")
                    .await;
            });
            continue;
        };
        let (handler, hostname, limits) = (handler.clone(), hostname.clone(), limits.clone());
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = session(stream, peer, &hostname, &limits, &*handler).await {
                tracing::debug!(error = %e, %peer, "smtp session ended");
            }
        });
    }
}

/// Open sessions, in all and per client address.
#[derive(Default)]
struct Sessions(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

struct Slot(Arc<Sessions>, std::net::IpAddr);

impl Sessions {
    fn take(self: &Arc<Self>, ip: std::net::IpAddr, limits: &Limits) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = open.values().sum();
        let mine = open.entry(ip).or_default();
        if total >= limits.max_sessions || *mine >= limits.max_per_peer {
            if *mine == 0 {
                open.remove(&ip);
            }
            return None;
        }
        *mine += 1;
        Some(Slot(self.clone(), ip))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.0 .0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.1);
            }
        }
    }
}

fn address_of(arg: &str, verb: &str) -> Option<String> {
    // "FROM:<a@b> SIZE=123" → "a@b"; the empty path "<>" is allowed for MAIL.
    let rest = arg.get(verb.len()..)?.trim_start();
    let rest = rest
        .strip_prefix('<')
        .map(|r| r.split_once('>').map(|(a, _)| a))
        .unwrap_or_else(|| rest.split_whitespace().next())?;
    Some(rest.trim().to_lowercase())
}

async fn session<H: Handler>(
    stream: TcpStream,
    peer: SocketAddr,
    hostname: &str,
    limits: &Limits,
    handler: &H,
) -> std::io::Result<()> {
    // Replies are small and answer each command; without this, Nagle and
    // delayed ACKs add ~40 ms to every exchange.
    let _ = stream.set_nodelay(true);
    let fd = raw_fd(&stream);
    let mut r = BufReader::new(stream);
    r.get_mut()
        .write_all(format!("220 {hostname} ESMTP storedesk\r\n").as_bytes())
        .await?;
    if let Some(plain) = conversation(r, peer, hostname, limits, handler, fd, false).await? {
        // STARTTLS: the client waited for our 220, so nothing is buffered.
        if let Some(acceptor) = limits.tls.clone() {
            let tls = acceptor.accept(plain).await?;
            conversation(BufReader::new(tls), peer, hostname, limits, handler, fd, true).await?;
        }
    }
    Ok(())
}

/// Commands until QUIT or the end of the connection. Returns the plain
/// stream when the client asked for STARTTLS.
async fn conversation<S, H>(
    mut r: BufReader<S>,
    peer: SocketAddr,
    hostname: &str,
    limits: &Limits,
    handler: &H,
    fd: Option<i32>,
    secure: bool,
) -> std::io::Result<Option<S>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    H: Handler,
{
    let mut helo = String::new();
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = tokio::time::timeout(limits.idle, (&mut r).take(4096).read_until(b'\n', &mut line))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        if n == 0 {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            r.get_mut().write_all(b"500 5.5.2 line too long\r\n").await?;
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = text.to_ascii_uppercase();
        let verb = upper.split_whitespace().next().unwrap_or("");
        let reply: Reply = match verb {
            "EHLO" | "HELO" => {
                helo = text.get(5..).unwrap_or("").trim().to_string();
                from = None;
                rcpts.clear();
                if verb == "EHLO" {
                    let starttls = if limits.tls.is_some() && !secure {
                        "250-STARTTLS\r\n"
                    } else {
                        ""
                    };
                    r.get_mut().write_all(format!("250-{hostname}\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n{starttls}250 SIZE {}\r\n", limits.max_message).as_bytes()).await?;
                    continue;
                }
                (250, hostname.to_string())
            }
            "MAIL" if upper.starts_with("MAIL FROM:") => match address_of(&text, "MAIL FROM:") {
                Some(a) => {
                    let size = upper
                        .split_whitespace()
                        .find_map(|p| p.strip_prefix("SIZE="))
                        .and_then(|s| s.parse::<usize>().ok());
                    if size.is_some_and(|s| s > limits.max_message) {
                        (552, "5.3.4 message too big".into())
                    } else {
                        from = Some(a);
                        rcpts.clear();
                        (250, "2.1.0 ok".into())
                    }
                }
                None => (501, "5.1.7 bad sender address".into()),
            },
            "RCPT" if upper.starts_with("RCPT TO:") => match (&from, address_of(&text, "RCPT TO:")) {
                (None, _) => (503, "5.5.1 MAIL first".into()),
                (_, None) => (501, "5.1.3 bad recipient address".into()),
                (_, Some(_)) if rcpts.len() >= limits.max_recipients => (452, "4.5.3 too many recipients".into()),
                (_, Some(a)) => match handler.recipient(&a).await {
                    Ok(()) => {
                        rcpts.push(a);
                        (250, "2.1.5 ok".into())
                    }
                    Err(r) => r,
                },
            },
            "DATA" => {
                if from.is_none() || rcpts.is_empty() {
                    (503, "5.5.1 need MAIL and RCPT first".into())
                } else {
                    r.get_mut().write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                    match read_data(&mut r, limits, fd).await? {
                        Some(data) => {
                            let env = Envelope {
                                peer,
                                helo: helo.clone(),
                                mail_from: from.take().unwrap_or_default(),
                                rcpt_to: std::mem::take(&mut rcpts),
                                data,
                            };
                            handler.message(env).await
                        }
                        None => {
                            from = None;
                            rcpts.clear();
                            (552, "5.3.4 message too big".into())
                        }
                    }
                }
            }
            "RSET" => {
                from = None;
                rcpts.clear();
                (250, "2.0.0 ok".into())
            }
            "NOOP" => (250, "2.0.0 ok".into()),
            "VRFY" => (252, "2.5.0 cannot verify".into()),
            "QUIT" => {
                r.get_mut().write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(None);
            }
            "STARTTLS" if limits.tls.is_some() && !secure => {
                r.get_mut().write_all(b"220 2.0.0 ready to start TLS\r\n").await?;
                r.get_mut().flush().await?;
                return Ok(Some(r.into_inner()));
            }
            "STARTTLS" => (454, "4.7.0 TLS not available".into()),
            _ => (500, "5.5.2 command not recognized".into()),
        };
        r.get_mut()
            .write_all(format!("{} {}\r\n", reply.0, reply.1).as_bytes())
            .await?;
    }
}

/// Reads DATA up to the lone dot, undoing dot-stuffing. None when the
/// message is over the limit (the rest is read and dropped).
///
/// Only `<CRLF>.<CRLF>` ends DATA (RFC 5321 §4.1.1.4): a dot line after a
/// bare LF, or a dot ended by a bare LF, is content. Otherwise one message
/// could carry a second with a forged envelope (SMTP smuggling). Lines that
/// end in a bare LF are stored as if they ended in CRLF, as Postfix does
/// with `smtpd_forbid_bare_newline = normalize`.
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    limits: &Limits,
    fd: Option<i32>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut over = false;
    let mut line = Vec::new();
    // The DATA command line itself ended the previous line.
    let mut after_crlf = true;
    loop {
        line.clear();
        quick_ack(fd);
        let n = tokio::time::timeout(limits.idle, r.read_until(b'\n', &mut line))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle in DATA"))??;
        if n == 0 || !line.ends_with(b"\n") {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed in DATA"));
        }
        let crlf = line.ends_with(b"\r\n");
        if after_crlf && line == b".\r\n" {
            return Ok(if over { None } else { Some(data) });
        }
        let body = &line[..line.len() - if crlf { 2 } else { 1 }];
        let body = if body.starts_with(b"..") { &body[1..] } else { body };
        after_crlf = crlf;
        if data.len() + body.len() + 2 > limits.max_message {
            over = true;
            data = Vec::new();
        }
        if !over {
            data.extend_from_slice(body);
            data.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(target_os = "linux")]
fn raw_fd(s: &TcpStream) -> Option<i32> {
    use std::os::fd::AsRawFd;
    Some(s.as_raw_fd())
}

#[cfg(not(target_os = "linux"))]
fn raw_fd(_: &TcpStream) -> Option<i32> {
    None
}

/// Acknowledges received data at once while a message streams in. Clients
/// write DATA in pieces; with Nagle on their side and delayed ACKs on ours,
/// each piece would wait ~40 ms. Linux drops quick-ACK mode by itself, so it
/// is set again before each read.
fn quick_ack(fd: Option<i32>) {
    #[cfg(target_os = "linux")]
    if let Some(fd) = fd {
        let one: libc::c_int = 1;
        // SAFETY: setsockopt on a socket this session owns, with a c_int.
        unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                &one as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

#[cfg(test)]
mod tests {
    #[test]
    fn envelope_addresses() {
        assert_eq!(
            super::address_of("MAIL FROM:<Ann@Shop.test> SIZE=10", "MAIL FROM:").as_deref(),
            Some("ann@shop.test")
        );
        assert_eq!(super::address_of("MAIL FROM:<>", "MAIL FROM:").as_deref(), Some(""));
        assert_eq!(
            super::address_of("RCPT TO: bob@x.test", "RCPT TO:").as_deref(),
            Some("bob@x.test")
        );
    }
}
