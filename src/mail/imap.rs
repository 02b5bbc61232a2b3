//! IMAP polling for workspaces whose mailbox lives elsewhere (a hosted
//! mailbox the store already uses). Unseen mail in the folder is filed as
//! if it had come in through the SMTP listener, then marked \Seen (and moved
//! when the settings say so) so that no message is taken twice. Where the
//! server has IDLE, one connection per mailbox waits for new mail, so it is
//! picked up at once instead of on the next interval.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use async_imap::types::{Capabilities, UnsolicitedResponse};
use async_imap::{Client, Session};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use super::inbound::Inbound;
use crate::store::mail_settings::ImapSettings;
use crate::store::Workspace;

/// Upper bound for connecting and for every command: a server that stops
/// answering must not stall the poller forever.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// RFC 2177: clients should re-issue IDLE at least every 29 minutes.
const IDLE_MAX: Duration = Duration::from_secs(29 * 60);

/// Plain TCP and TLS behind one type, so a session is the same either way.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}
type Conn = Box<dyn Io>;

/// Runs one IMAP step under the command timeout; `what` names it in errors.
async fn step<T, E, F>(what: &str, f: F) -> anyhow::Result<T>
where
    F: Future<Output = Result<T, E>>,
    E: Into<anyhow::Error>,
{
    match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
        Ok(r) => r.map_err(Into::into).with_context(|| format!("IMAP {what}")),
        Err(_) => bail!("IMAP {what}: no answer within {}s", COMMAND_TIMEOUT.as_secs()),
    }
}

fn tls_connector() -> anyhow::Result<tokio_rustls::TlsConnector> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // The provider is named, not taken from the process default: another
    // crate enabling aws-lc would otherwise make the default ambiguous.
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

async fn tls_wrap<S: Io + 'static>(tcp: S, host: &str) -> anyhow::Result<Conn> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| anyhow!("'{host}' is not a valid TLS server name"))?;
    let tls = step("TLS handshake", tls_connector()?.connect(name, tcp)).await?;
    Ok(Box::new(tls))
}

/// Connects, logs in and selects the folder; returns the session and the
/// capabilities the server shows after login (they differ from before).
async fn open(imap: &ImapSettings) -> anyhow::Result<(Session<Conn>, Capabilities)> {
    let host = imap.host.trim();
    let tcp = step("connect", TcpStream::connect((host, imap.port)))
        .await
        .with_context(|| format!("{host}:{}", imap.port))?;
    let conn: Conn = match imap.tls.as_str() {
        "tls" => tls_wrap(tcp, host).await?,
        _ => Box::new(tcp),
    };
    let mut client = Client::new(conn);
    let greeting = step("greeting", client.read_response()).await?;
    if greeting.is_none() {
        bail!("IMAP server closed the connection before greeting");
    }
    if imap.tls == "starttls" {
        step("STARTTLS", client.run_command_and_check_ok("STARTTLS", None)).await?;
        // No second greeting after STARTTLS (RFC 3501 6.2.1).
        client = Client::new(tls_wrap(client.into_inner(), host).await?);
    }
    // The error keeps only the server's answer: the command (with the
    // password) is never part of it.
    let mut session = step("LOGIN", async {
        client.login(&imap.user, &imap.password).await.map_err(|(e, _)| e)
    })
    .await?;
    let caps = step("CAPABILITY", session.capabilities()).await?;
    step("SELECT", session.select(&imap.folder))
        .await
        .with_context(|| format!("folder '{}'", imap.folder))?;
    Ok((session, caps))
}

/// Files every unseen message in the selected folder; returns how many.
/// A message is marked (or moved) only after it is stored, so one that
/// fails stays unseen for the next round.
/// Largest mail taken from a mailbox, as for the SMTP listener.
const MAX_MESSAGE: usize = 25 * 1024 * 1024;

async fn fetch_new(
    inbound: &Inbound,
    ws: &Workspace,
    imap: &ImapSettings,
    session: &mut Session<Conn>,
    caps: &Capabilities,
) -> anyhow::Result<usize> {
    // A suspended workspace, or one whose plan has no e-mail, keeps its
    // mail unseen in its own mailbox until that changes: nothing is lost.
    if inbound
        .svc
        .require(ws.id, crate::domain::plan::Feature::Email)
        .await
        .is_err()
    {
        return Ok(0);
    }
    let rcpt = format!("{}@{}", ws.slug, inbound.domain);
    let mut uids: Vec<u32> = step("UID SEARCH", session.uid_search("UNSEEN"))
        .await?
        .into_iter()
        .collect();
    uids.sort_unstable();
    let mut filed = 0;
    let mut expunge = false;
    for uid in uids {
        // The same size limit as the SMTP listener: a huge mail stays in the
        // mailbox, unread, for a person to deal with.
        let sized = step("UID FETCH", async {
            session
                .uid_fetch(uid.to_string(), "RFC822.SIZE")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        if let Some(size) = sized
            .iter()
            .filter(|f| f.uid == Some(uid))
            .find_map(|f| f.size)
            .filter(|s| *s as usize > MAX_MESSAGE)
        {
            tracing::warn!(workspace = %ws.slug, uid, size, "IMAP message over the size limit; left in the mailbox");
            continue;
        }
        let fetched = step("UID FETCH", async {
            session
                .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        // The server may add unsolicited FETCH responses for other messages.
        let Some(raw) = fetched.iter().filter(|f| f.uid == Some(uid)).find_map(|f| f.body()) else {
            tracing::warn!(workspace = %ws.slug, uid, "IMAP message has no body; skipped");
            continue;
        };
        if let Err(e) = inbound.ingest("", &rcpt, raw).await {
            tracing::warn!(workspace = %ws.slug, uid, error = %e, "IMAP message not stored; it stays unseen for the next poll");
            continue;
        }
        filed += 1;
        // \Seen first, even when moving: if the move fails the message is
        // still not taken again, and the archived copy shows as read.
        step("UID STORE", async {
            session
                .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        if !imap.move_to.is_empty() {
            if caps.has_str("MOVE") {
                step("UID MOVE", session.uid_mv(uid.to_string(), &imap.move_to)).await?;
            } else {
                step("UID COPY", session.uid_copy(uid.to_string(), &imap.move_to)).await?;
                step("UID STORE", async {
                    session
                        .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Deleted)")
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?;
                if caps.has_str("UIDPLUS") {
                    step("UID EXPUNGE", async {
                        session
                            .uid_expunge(uid.to_string())
                            .await?
                            .try_collect::<Vec<_>>()
                            .await
                    })
                    .await?;
                } else {
                    expunge = true;
                }
            }
        }
    }
    if expunge {
        // Without UIDPLUS only a plain EXPUNGE is left; it also removes
        // whatever else was flagged \Deleted in the folder.
        step("EXPUNGE", async {
            session.expunge().await?.try_collect::<Vec<_>>().await
        })
        .await?;
    }
    Ok(filed)
}

/// Connects, logs in and opens the folder as the poller would, for the
/// settings page's "test the connection"; returns how many messages the
/// folder holds. Errors say which step failed, never the password.
pub async fn check(imap: &ImapSettings) -> anyhow::Result<u32> {
    let (mut session, _) = open(imap).await?;
    let folder = step("EXAMINE", session.examine(&imap.folder)).await;
    let _ = step("LOGOUT", session.logout()).await;
    Ok(folder?.exists)
}

/// One round for one mailbox: connect, file the unseen mail, log out.
pub async fn poll_once(inbound: &Inbound, ws: &Workspace, imap: &ImapSettings) -> anyhow::Result<usize> {
    let (mut session, caps) = open(imap).await?;
    let filed = fetch_new(inbound, ws, imap, &mut session, &caps).await;
    // Log out even after a failure; its own error matters less.
    let _ = step("LOGOUT", session.logout()).await;
    filed
}

/// True when new mail was announced since the last look: then another
/// round is due before waiting (IDLE only reports what comes after it).
fn drain_news(session: &Session<Conn>) -> bool {
    let mut news = false;
    while let Ok(r) = session.unsolicited_responses.try_recv() {
        news |= matches!(r, UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_));
    }
    news
}

/// Keeps one mailbox served until the task is stopped: with IDLE on one
/// long connection, otherwise by polling every `interval`.
async fn watch(inbound: Inbound, ws: Workspace, imap: ImapSettings, interval: Duration) {
    let wait = interval.min(IDLE_MAX);
    loop {
        if let Err(e) = watch_session(&inbound, &ws, &imap, wait).await {
            // `{:#}` shows the chain; no part of it holds the password.
            tracing::warn!(workspace = %ws.slug, host = %imap.host, user = %imap.user, error = format!("{e:#}"), "IMAP polling failed; trying again later");
        }
        tokio::time::sleep(interval).await;
    }
}

/// One connection's life. Returns Ok when the server has no IDLE (the
/// caller sleeps and comes back), Err when anything failed.
async fn watch_session(inbound: &Inbound, ws: &Workspace, imap: &ImapSettings, wait: Duration) -> anyhow::Result<()> {
    let (mut session, caps) = open(imap).await?;
    if !caps.has_str("IDLE") {
        let r = fetch_new(inbound, ws, imap, &mut session, &caps).await;
        let _ = step("LOGOUT", session.logout()).await;
        log_filed(ws, r?);
        return Ok(());
    }
    loop {
        drain_news(&session);
        let n = fetch_new(inbound, ws, imap, &mut session, &caps).await?;
        log_filed(ws, n);
        if drain_news(&session) {
            continue;
        }
        let mut idle = session.idle();
        step("IDLE", idle.init()).await?;
        let (fut, stop) = idle.wait_with_timeout(wait);
        // Any answer (new mail, a timeout, a dropped line) means: look again.
        let r = fut.await;
        drop(stop);
        r.context("IMAP IDLE")?;
        session = step("DONE", idle.done()).await?;
    }
}

fn log_filed(ws: &Workspace, n: usize) {
    if n > 0 {
        tracing::info!(workspace = %ws.slug, filed = n, "mail fetched by IMAP");
    }
}

/// Stops the mailbox's task when its entry goes away (settings changed or
/// removed, or the whole poller stopped).
struct Watcher {
    key: (String, ImapSettings),
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves every workspace's IMAP mailbox for as long as the process runs.
/// The list is read again every `interval`: new mailboxes get a task,
/// tasks of changed or removed settings are stopped (and restarted with
/// the new settings).
pub async fn run(inbound: Inbound, interval: Duration) {
    let mut watchers: HashMap<i64, Watcher> = HashMap::new();
    loop {
        match inbound.svc.store.imap_mailboxes().await {
            Ok(list) => {
                let mut wanted: HashMap<i64, (Workspace, ImapSettings)> = HashMap::new();
                for (ws, m) in list {
                    if let Some(imap) = m.imap {
                        wanted.insert(ws.id, (ws, imap));
                    }
                }
                watchers.retain(|id, w| {
                    wanted
                        .get(id)
                        .is_some_and(|(ws, imap)| w.key.0 == ws.slug && &w.key.1 == imap)
                        && !w.task.is_finished()
                });
                for (id, (ws, imap)) in wanted {
                    if watchers.contains_key(&id) {
                        continue;
                    }
                    let key = (ws.slug.clone(), imap.clone());
                    let task = tokio::spawn(watch(inbound.clone(), ws, imap, interval));
                    watchers.insert(id, Watcher { key, task });
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the IMAP mailboxes"),
        }
        tokio::time::sleep(interval).await;
    }
}
