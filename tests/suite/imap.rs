//! IMAP polling against a real Dovecot on loopback: each test starts its
//! own server (a child process, stopped on drop) with one mailbox, puts
//! mail in over IMAP as a mail client would, and checks what storedesk
//! filed through the API and what it left on the server.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use async_imap::types::Flag;
use futures::TryStreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use storedesk::mail::imap::{poll_once, run};
use storedesk::mail::inbound::Inbound;
use storedesk::store::mail_settings::ImapSettings;
use storedesk::store::Workspace;

use crate::harness::{Db, TestApp, MAIL_DOMAIN};

crate::both_backends!(
    two_mails_are_filed_once_and_left_seen,
    fetched_mail_is_moved_to_the_folder,
    a_reply_in_the_mailbox_continues_the_ticket,
    a_wrong_password_files_nothing,
    idle_picks_up_new_mail_at_once,
    tls_and_starttls_check_the_certificate
);

const USER: &str = "shop";
const PASSWORD: &str = "s3cret-imap";
/// Dovecot refuses uid 0 for mail processes and root for its login
/// processes; mail is kept as `nobody` (present on every Debian system).
const MAIL_UID: u32 = 65534;

/// A private Dovecot with one user, on a free port of 127.0.0.1.
pub struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
    pub addr: SocketAddr,
    /// Implicit TLS (993-style), when started with TLS.
    pub tls_addr: Option<SocketAddr>,
}

impl Dovecot {
    pub async fn start() -> Dovecot {
        Dovecot::start_with(false).await
    }

    /// With `tls`: a self-signed certificate (openssl comes with
    /// dovecot-core through ssl-cert), STARTTLS on the plain port and an
    /// implicit-TLS port as well.
    pub async fn start_with(tls: bool) -> Dovecot {
        let bin = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("Dovecot is not installed (scripts/test installs dovecot-imapd)");
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().to_path_buf();
        use std::os::unix::fs::PermissionsExt;
        // The login and mail processes run as other users and must reach
        // the sockets and the mail inside; a temp dir is 0700 by default.
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(d.join("mail")).unwrap();
        std::os::unix::fs::chown(d.join("mail"), Some(MAIL_UID), Some(MAIL_UID)).unwrap();
        std::fs::write(d.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n")).unwrap();
        // Free port: bound and released; Dovecot takes it a moment later.
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let port = free();
        let p = d.display();
        let (ssl, tls_port) = if tls {
            let ok = Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-keyout",
                ])
                .arg(d.join("key.pem"))
                .arg("-out")
                .arg(d.join("cert.pem"))
                .stderr(Stdio::null())
                .status()
                .expect("openssl")
                .success();
            assert!(ok, "openssl could not make a certificate");
            (
                format!("ssl = yes\nssl_cert = <{p}/cert.pem\nssl_key = <{p}/key.pem"),
                free(),
            )
        } else {
            ("ssl = no".to_string(), 0)
        };
        let conf = format!(
            r#"protocols = imap
listen = 127.0.0.1
base_dir = {p}/run
state_dir = {p}/state
log_path = {p}/dovecot.log
instance_name = storedesk-test-{port}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
mail_location = maildir:{p}/mail/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {p}/users
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={p}/mail/%u
}}
# No growing delay for the next login after a failed one (the
# wrong-password test logs in again right after).
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
"#
        );
        std::fs::write(d.join("dovecot.conf"), conf).unwrap();
        let child = Command::new(bin)
            .arg("-F")
            .arg("-c")
            .arg(d.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot");
        let mut dv = Dovecot {
            child,
            dir,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            tls_addr: tls.then(|| SocketAddr::from(([127, 0, 0, 1], tls_port))),
        };
        for _ in 0..200 {
            if let Ok(Some(status)) = dv.child.try_wait() {
                panic!("dovecot exited ({status}):\n{}", dv.log());
            }
            if tokio::net::TcpStream::connect(dv.addr).await.is_ok() {
                return dv;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("dovecot did not listen on {} within 10 s:\n{}", dv.addr, dv.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// The mailbox's settings as the API takes them.
    pub fn settings(&self, password: &str, move_to: &str) -> Value {
        json!({ "imap": { "host": "127.0.0.1", "port": self.addr.port(), "tls": "none", "user": USER, "password": password, "folder": "INBOX", "move_to": move_to } })
    }

    /// A session as the store's own mail client would have it.
    pub async fn client(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let mut c = async_imap::Client::new(tokio::net::TcpStream::connect(self.addr).await.unwrap());
        c.read_response().await.unwrap().expect("greeting");
        c.login(USER, PASSWORD).await.map_err(|(e, _)| e).expect("login")
    }

    pub async fn append(&self, raw: &str) {
        let mut s = self.client().await;
        s.append("INBOX", None, None, raw.replace('\n', "\r\n")).await.unwrap();
        s.logout().await.unwrap();
    }

    /// For each message in `folder`: is it \Seen?
    pub async fn seen(&self, folder: &str) -> Vec<bool> {
        let mut s = self.client().await;
        let mb = s.select(folder).await.unwrap();
        let mut out = vec![];
        if mb.exists > 0 {
            let f: Vec<_> = s.fetch("1:*", "FLAGS").await.unwrap().try_collect().await.unwrap();
            out = f.iter().map(|m| m.flags().any(|f| f == Flag::Seen)).collect();
        }
        s.logout().await.unwrap();
        out
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children; SIGKILL if it lingers.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        for _ in 0..40 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mail(from: &str, subject: &str, id: &str, extra: &str, body: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("{extra}\n")
    };
    format!("From: Ann Lee <{from}>\nTo: help@acme.test\nSubject: {subject}\nMessage-ID: <{id}>\nDate: Sat, 28 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n{extra}\n{body}\n")
}

/// Saves the mailbox settings through the API, checks GET hides the
/// password, and returns what the poller would work with.
async fn configure(app: &TestApp, dv: &Dovecot, password: &str, move_to: &str) -> (Inbound, Workspace, ImapSettings) {
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/mail",
            &app.token,
            Some(dv.settings(password, move_to)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.get("/api/v1/mail").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["settings"]["imap"]["password"], "********");
    assert!(!v.to_string().contains(password), "{v}");
    assert_eq!(v["settings"]["imap"]["user"], USER);
    let mut boxes = app.store.imap_mailboxes().await.unwrap();
    assert_eq!(boxes.len(), 1);
    let (ws, m) = boxes.remove(0);
    assert_eq!(ws.id, app.workspace_id);
    let imap = m.imap.unwrap();
    assert_eq!(imap.password, password, "the password itself is kept");
    (
        Inbound {
            svc: app.svc.clone(),
            domain: MAIL_DOMAIN.into(),
        },
        ws,
        imap,
    )
}

async fn email_tickets(app: &TestApp) -> Vec<Value> {
    let (s, v) = app.get("/api/v1/tickets?channel=email").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn two_mails_are_filed_once_and_left_seen(db: Db) {
    let app = TestApp::spawn(db).await;
    let dv = Dovecot::start().await;
    let (inbound, ws, imap) = configure(&app, &dv, PASSWORD, "").await;
    dv.append(&mail(
        "ann@shop.test",
        "Where is my order?",
        "one@shop.test",
        "",
        "I paid yesterday.",
    ))
    .await;
    dv.append(&mail(
        "bob@shop.test",
        "Wrong size",
        "two@shop.test",
        "",
        "The shoes are too small.",
    ))
    .await;
    assert_eq!(dv.seen("INBOX").await, vec![false, false]);
    // "Test the connection" signs in and counts, taking nothing.
    let (status, r) = app.post("/api/v1/mail/imap/test", serde_json::json!({})).await;
    assert_eq!((status, r["messages"].as_u64()), (StatusCode::OK, Some(2)), "{r}");
    assert_eq!(dv.seen("INBOX").await, vec![false, false]);

    assert_eq!(poll_once(&inbound, &ws, &imap).await.unwrap(), 2, "{}", dv.log());
    let tickets = email_tickets(&app).await;
    assert_eq!(tickets.len(), 2);
    let mut subjects: Vec<_> = tickets
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["Where is my order?", "Wrong size"]);
    let ann = tickets
        .iter()
        .find(|t| t["contact"]["email"] == "ann@shop.test")
        .expect("Ann's ticket");
    assert_eq!(ann["contact"]["name"], "Ann Lee");

    // Marked on the server, so the next round takes nothing.
    assert_eq!(dv.seen("INBOX").await, vec![true, true]);
    assert_eq!(poll_once(&inbound, &ws, &imap).await.unwrap(), 0);
    assert_eq!(email_tickets(&app).await.len(), 2);
}

async fn fetched_mail_is_moved_to_the_folder(db: Db) {
    let app = TestApp::spawn(db).await;
    let dv = Dovecot::start().await;
    let mut s = dv.client().await;
    s.create("Done").await.unwrap();
    s.logout().await.unwrap();
    let (inbound, ws, imap) = configure(&app, &dv, PASSWORD, "Done").await;
    dv.append(&mail(
        "ann@shop.test",
        "Refund",
        "refund@shop.test",
        "",
        "Please refund order 1042.",
    ))
    .await;

    assert_eq!(poll_once(&inbound, &ws, &imap).await.unwrap(), 1, "{}", dv.log());
    assert_eq!(email_tickets(&app).await.len(), 1);
    assert_eq!(dv.seen("INBOX").await, Vec::<bool>::new(), "the mail left INBOX");
    assert_eq!(dv.seen("Done").await, vec![true], "and is in Done, read");
    assert_eq!(poll_once(&inbound, &ws, &imap).await.unwrap(), 0);
}

async fn a_reply_in_the_mailbox_continues_the_ticket(db: Db) {
    let app = TestApp::spawn(db).await;
    let dv = Dovecot::start().await;
    let (inbound, ws, imap) = configure(&app, &dv, PASSWORD, "").await;
    dv.append(&mail(
        "ann@shop.test",
        "Broken zipper",
        "first@shop.test",
        "",
        "The zipper broke on day one.",
    ))
    .await;
    assert_eq!(poll_once(&inbound, &ws, &imap).await.unwrap(), 1);
    let tickets = email_tickets(&app).await;
    assert_eq!(tickets.len(), 1);
    let tid = tickets[0]["id"].as_i64().unwrap();

    dv.append(&mail(
        "ann@shop.test",
        "Re: Broken zipper",
        "second@shop.test",
        "In-Reply-To: <first@shop.test>\nReferences: <first@shop.test>",
        "Here is a photo.",
    ))
    .await;
    assert_eq!(poll_once(&inbound, &ws, &imap).await.unwrap(), 1);
    assert_eq!(email_tickets(&app).await.len(), 1, "no second ticket");
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    let bodies: Vec<_> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author_type"] == "contact")
        .map(|m| m["body"].as_str().unwrap().trim().to_string())
        .collect();
    assert_eq!(bodies, ["The zipper broke on day one.", "Here is a photo."]);
}

async fn a_wrong_password_files_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    let dv = Dovecot::start().await;
    let (inbound, ws, imap) = configure(&app, &dv, "not-the-password", "").await;
    dv.append(&mail("ann@shop.test", "Hello?", "hello@shop.test", "", "Anyone there?"))
        .await;

    let err = poll_once(&inbound, &ws, &imap).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("LOGIN"), "{text}");
    assert!(
        !text.contains("not-the-password"),
        "the password is not in the error: {text}"
    );
    assert!(email_tickets(&app).await.is_empty());
    assert_eq!(
        dv.seen("INBOX").await,
        vec![false],
        "left for when the password is fixed"
    );
    let (status, r) = app.post("/api/v1/mail/imap/test", serde_json::json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{r}");
    let text = r["error"]["message"].as_str().unwrap();
    assert!(text.contains("LOGIN") && !text.contains("not-the-password"), "{text}");
}

async fn idle_picks_up_new_mail_at_once(db: Db) {
    let app = TestApp::spawn(db).await;
    let dv = Dovecot::start().await;
    configure(&app, &dv, PASSWORD, "").await;
    dv.append(&mail(
        "ann@shop.test",
        "Before",
        "before@shop.test",
        "",
        "Already waiting.",
    ))
    .await;
    // As `serve` runs it: a 60 s interval, so only IDLE can explain the
    // second mail arriving within seconds.
    let inbound = Inbound {
        svc: app.svc.clone(),
        domain: MAIL_DOMAIN.into(),
    };
    let poller = tokio::spawn(run(inbound, Duration::from_secs(60)));
    wait_for_tickets(&app, 1, &dv).await;
    // Give the watcher a moment to enter IDLE, then deliver.
    tokio::time::sleep(Duration::from_millis(500)).await;
    dv.append(&mail(
        "bob@shop.test",
        "After",
        "after@shop.test",
        "",
        "Sent while idling.",
    ))
    .await;
    let tickets = wait_for_tickets(&app, 2, &dv).await;
    assert!(tickets.iter().any(|t| t["subject"] == "After"));
    assert_eq!(dv.seen("INBOX").await, vec![true, true]);
    poller.abort();
}

async fn wait_for_tickets(app: &TestApp, n: usize, dv: &Dovecot) -> Vec<Value> {
    for _ in 0..150 {
        let t = email_tickets(app).await;
        if t.len() >= n {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} tickets after 15 s; dovecot log:\n{}", dv.log());
}

async fn tls_and_starttls_check_the_certificate(db: Db) {
    let app = TestApp::spawn(db).await;
    let dv = Dovecot::start_with(true).await;
    let (inbound, ws, mut imap) = configure(&app, &dv, PASSWORD, "").await;
    dv.append(&mail("ann@shop.test", "Over TLS", "tls@shop.test", "", "Secret."))
        .await;
    // A self-signed certificate is not trusted: no login, in either mode,
    // and no falling back to plain text.
    imap.tls = "starttls".into();
    let err = format!("{:#}", poll_once(&inbound, &ws, &imap).await.unwrap_err());
    assert!(err.contains("TLS handshake") && err.contains("certificate"), "{err}");
    imap.tls = "tls".into();
    imap.port = dv.tls_addr.unwrap().port();
    let err = format!("{:#}", poll_once(&inbound, &ws, &imap).await.unwrap_err());
    assert!(err.contains("TLS handshake") && err.contains("certificate"), "{err}");
    assert!(email_tickets(&app).await.is_empty());
    assert_eq!(
        dv.log().matches("Login: user=<shop>").count(),
        1,
        "only the test's own APPEND logged in: {}",
        dv.log()
    );
}
