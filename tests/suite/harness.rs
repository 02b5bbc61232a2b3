//! Starts the real server on a random port against a fresh database and
//! talks to it over HTTP as a client would.

#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::Value;
use storedesk::app::{serve, AppState};
use storedesk::domain::{Email, Role};
use storedesk::store::{scratch, NewUser, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub fn pg_admin_url() -> String {
    std::env::var("STOREDESK_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh database: a SQLite file in a temporary folder, or a new
/// PostgreSQL database dropped when this is dropped.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(db: Db) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match db {
            Db::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("storedesk.db").display()),
                dir,
                pg_name: None,
            },
            Db::Postgres => {
                let (url, name) = scratch::create(&pg_admin_url(), "storedesk_test")
                    .await
                    .expect("PostgreSQL must be running for the tests (scripts/test starts it)");
                TestDb {
                    url,
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async; a short-lived runtime on its own
            // thread drops the database.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async { scratch::drop(&pg_admin_url(), &name).await })
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    /// Token of the admin of the first workspace.
    pub token: String,
    pub workspace_id: i64,
    pub admin_id: i64,
    /// The app's use cases (for entry points a test drives itself, such as
    /// the IMAP poller or an SMTP listener of its own).
    pub svc: storedesk::service::Services,
    /// More app states on this database (a mail node): kept for as long as
    /// the app, since a node's tasks stop when its state is dropped.
    nodes: std::sync::Mutex<Vec<AppState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        // `STOREDESK_LOG=warn cargo nextest run --no-capture NAME` shows the server's log.
        if std::env::var_os("STOREDESK_LOG").is_some() {
            storedesk::telemetry::init_logging(false);
        }
        let db = TestDb::new(db).await;
        let store = Store::connect(&db.url).await.expect("store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let mut state = AppState::start(store.clone(), &db.url).await.expect("state");
        state.site = std::sync::Arc::new(storedesk::app::Site::new(&base));
        let svc = state.svc.clone();
        let server = tokio::spawn(serve(listener, state, async move {
            let _ = stop_rx.await;
        }));
        let mut app = TestApp {
            base,
            client: reqwest::Client::new(),
            store,
            token: String::new(),
            workspace_id: 0,
            admin_id: 0,
            svc,
            nodes: Default::default(),
            stop: Some(stop),
            server: Some(server),
            db,
        };
        let (ws, admin, token) = app.workspace("Acme Shop").await;
        app.token = token;
        app.workspace_id = ws;
        app.admin_id = admin;
        app
    }

    /// Another HTTP server on this database whose state `change` adjusts
    /// (its site settings, its limits); returns its base URL. It runs until
    /// the test ends.
    pub async fn serve_variant(&self, change: impl FnOnce(&mut AppState)) -> String {
        let mut state = AppState::start(self.store.clone(), &self.db.url).await.expect("state");
        state.site = std::sync::Arc::new(storedesk::app::Site::new(&self.base));
        change(&mut state);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        self.nodes.lock().unwrap().push(state.clone());
        tokio::spawn(serve(l, state, std::future::pending()));
        base
    }

    /// A page as text, with the templates' escaping of `/` and quotes undone.
    pub async fn html(&self, path: &str) -> String {
        let r = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        crate::console::unescape(&r.text().await.unwrap())
    }

    /// A new workspace with an admin; returns (workspace id, admin id, token).
    pub async fn workspace(&self, name: &str) -> (i64, i64, String) {
        let email = format!(
            "owner+{:x}@{}.test",
            rand::random::<u32>(),
            storedesk::domain::slugify(name)
        );
        let admin = NewUser {
            email: Email::parse("email", &email).unwrap(),
            name: format!("{name} owner"),
            role: Role::Admin,
            teams_only: false,
            password_hash: None,
        };
        let (ws, user) = self
            .store
            .create_workspace(name, &storedesk::domain::slugify(name), admin)
            .await
            .expect("workspace");
        let token = storedesk::auth::new_token();
        self.store
            .create_api_token(ws.id, user.id, "test", &storedesk::auth::token_hash(&token))
            .await
            .expect("token");
        (ws.id, user.id, token)
    }

    /// An agent in the first workspace (optionally restricted to teams) with
    /// a token made through the API; returns (user id, token).
    pub async fn agent(&self, email: &str, teams_only: bool) -> (i64, String) {
        let (s, u) = self
            .call(
                Method::POST,
                "/api/v1/users",
                &self.token,
                Some(serde_json::json!({ "email": email, "name": email, "teams_only": teams_only })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        let id = u["id"].as_i64().unwrap();
        let (s, t) = self
            .call(Method::POST, &format!("/api/v1/users/{id}/tokens"), &self.token, None)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        (id, t["token"].as_str().unwrap().to_string())
    }

    /// Waits until the outbox feeder (an asynchronous consumer of the event
    /// log) has processed every event committed so far, so mail that
    /// should be queued is, and mail that should not be never will be.
    pub async fn delivered(&self) {
        self.consumed("outbox").await
    }

    /// Waits until cluster consumer `name` has processed every event
    /// committed so far (and so made every change it will make of them).
    pub async fn consumed(&self, name: &str) {
        // A loaded CI machine can take long over a thousand events, so give
        // up only when the consumer stops moving, not after a fixed time.
        let head = self.store.event_head().await.unwrap();
        let mut last = -1;
        let mut still = 0;
        while still < 300 {
            let at = self.store.consumer_position(name).await.unwrap().unwrap_or(0);
            if at >= head {
                return;
            }
            if at == last {
                still += 1;
            } else {
                (last, still) = (at, 0);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("consumer {name} stopped at event {last} for 15 s, short of {head}");
    }

    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "500 from {path}: {v}");
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, &self.token, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, &self.token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, &self.token, Some(body)).await
    }

    /// Opens a ticket as the first workspace's admin and returns it.
    pub async fn ticket(&self, subject: &str, email: &str) -> Value {
        let (s, t) = self.post("/api/v1/tickets", serde_json::json!({ "subject": subject, "message": format!("About: {subject}"), "contact": { "email": email, "name": "Shopper" } })).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        t
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            h.abort();
        }
    }
}

/// Runs each named `async fn(Db)` as two tests, `NAME::sqlite` and
/// `NAME::postgres`; PostgreSQL is never skipped.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::harness::Db::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::harness::Db::Postgres).await
                }
            }
        )*
    };
}

/// A WebSocket client as a browser or the console would use it.
pub struct Socket {
    inner: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Socket {
    pub async fn connect(url: &str, origin: Option<&str>) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = url.into_client_request()?;
        if let Some(o) = origin {
            req.headers_mut().insert("Origin", o.parse().unwrap());
        }
        let (inner, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Socket { inner })
    }

    pub async fn send(&mut self, v: Value) {
        use futures::SinkExt;
        self.inner
            .send(tokio_tungstenite::tungstenite::Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_raw(
        &mut self,
        m: tokio_tungstenite::tungstenite::Message,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        use futures::SinkExt;
        self.inner.send(m).await
    }

    /// The next JSON frame, or None when the socket closed; panics after 10 s.
    pub async fn next(&mut self) -> Option<Value> {
        use futures::StreamExt;
        loop {
            let m = tokio::time::timeout(std::time::Duration::from_secs(10), self.inner.next())
                .await
                .expect("a frame within 10 s");
            match m {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                    return Some(serde_json::from_str(&t).expect("JSON frame"))
                }
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads until the server closes; the close code it sent, if any.
    pub async fn close_code(&mut self) -> Option<u16> {
        use futures::StreamExt;
        loop {
            let m = tokio::time::timeout(std::time::Duration::from_secs(10), self.inner.next())
                .await
                .expect("closed within 10 s");
            match m {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(f))) => return f.map(|f| f.code.into()),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Skips frames until one of this type arrives.
    pub async fn until(&mut self, kind: &str) -> Value {
        loop {
            let f = self
                .next()
                .await
                .unwrap_or_else(|| panic!("socket closed while waiting for {kind}"));
            if f["type"] == kind {
                return f;
            }
        }
    }
}

impl TestApp {
    pub fn ws_url(&self) -> String {
        self.base.replace("http://", "ws://")
    }

    /// A visitor socket after hello/welcome; returns it and the welcome.
    pub async fn visitor(&self, slug: &str, token: Option<&str>, last_id: i64) -> (Socket, Value) {
        let mut s = Socket::connect(
            &format!("{}/ws?workspace={slug}", self.ws_url()),
            Some("http://shop.test"),
        )
        .await
        .expect("visitor socket");
        s.send(serde_json::json!({ "type": "hello", "token": token, "last_id": last_id, "lang": "en", "page": { "url": "http://shop.test/tshirt", "title": "T-shirt" }, "context": { "product": { "sku": "TS-1" } } })).await;
        let w = s.until("welcome").await;
        (s, w)
    }

    /// The admin's agent stream.
    pub async fn agent_stream(&self, token: &str) -> Socket {
        let mut s = Socket::connect(&format!("{}/api/v1/stream?token={token}", self.ws_url()), None)
            .await
            .expect("agent socket");
        s.until("hello").await;
        s
    }

    /// Another node on the same database (PostgreSQL), sharing nothing in memory.
    pub async fn second_node(&self) -> (String, tokio::sync::oneshot::Sender<()>) {
        let store = Store::connect(&self.db.url).await.expect("store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::start(store, &self.db.url).await.expect("state");
        tokio::spawn(serve(listener, state, async move {
            let _ = stop_rx.await;
        }));
        (base, stop)
    }
}

pub const MAIL_DOMAIN: &str = "storedesk.test";

/// A real SMTP server on loopback that keeps what it is sent: the stand-in
/// for a customer's relay.
#[derive(Clone, Default)]
pub struct Sink {
    pub got: std::sync::Arc<std::sync::Mutex<Vec<storedesk::mail::smtp_server::Envelope>>>,
}

impl storedesk::mail::smtp_server::Handler for Sink {
    async fn recipient(&self, _: &str) -> Result<(), storedesk::mail::smtp_server::Reply> {
        Ok(())
    }
    async fn message(&self, e: storedesk::mail::smtp_server::Envelope) -> storedesk::mail::smtp_server::Reply {
        self.got.lock().unwrap().push(e);
        (250, "2.0.0 kept".into())
    }
}

impl Sink {
    pub async fn start() -> (Sink, std::net::SocketAddr) {
        let sink = Sink::default();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(storedesk::mail::smtp_server::serve(
            l,
            "sink.test".into(),
            Default::default(),
            std::sync::Arc::new(sink.clone()),
        ));
        (sink, addr)
    }

    /// Waits (up to 15 s) until `n` mails arrived; returns them as text.
    pub async fn wait(&self, n: usize) -> Vec<String> {
        for _ in 0..300 {
            let got = self
                .got
                .lock()
                .unwrap()
                .iter()
                .map(|e| String::from_utf8_lossy(&e.data).into_owned())
                .collect::<Vec<_>>();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the sink got fewer than {n} mails");
    }
}

impl TestApp {
    /// The built-in SMTP listener and the outbox sender, as `serve` starts
    /// them, sending to `relay`.
    pub async fn mail(&self, relay: Option<std::net::SocketAddr>) -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let args = storedesk::config::MailArgs {
            smtp_listen: None,
            smtp_relay: relay.map(|r| format!("smtp://{r}?tls=none").parse().unwrap()),
            mail_domain: MAIL_DOMAIN.into(),
            public_url: Some(self.base.clone()),
            smtp_tls_cert: None,
            smtp_tls_key: None,
        };
        let state = AppState::start(self.store.clone(), &self.db.url).await.unwrap();
        storedesk::jobs::start_mail(&state, &args).await.unwrap();
        let handler = std::sync::Arc::new(storedesk::mail::inbound::Inbound {
            svc: state.svc.clone(),
            domain: MAIL_DOMAIN.into(),
        });
        self.nodes.lock().unwrap().push(state);
        tokio::spawn(storedesk::mail::smtp_server::serve(
            l,
            MAIL_DOMAIN.into(),
            Default::default(),
            handler,
        ));
        addr
    }
}

/// Sends a raw message over SMTP as a mail server would.
pub async fn smtp_send(
    server: std::net::SocketAddr,
    from: &str,
    to: &str,
    raw: &str,
) -> Result<(), lettre::transport::smtp::Error> {
    use lettre::AsyncTransport;
    let t = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(server.ip().to_string())
        .port(server.port())
        .build();
    let from = if from.is_empty() {
        None
    } else {
        Some(from.parse().unwrap())
    };
    let env = lettre::address::Envelope::new(from, vec![to.parse().unwrap()]).unwrap();
    t.send_raw(&env, raw.replace('\n', "\r\n").as_bytes()).await.map(|_| ())
}

/// One SMTP conversation with exactly the bytes given for DATA (no
/// dot-stuffing, no line-ending repair), as a hostile client would send them.
/// Returns every reply the server wrote until it closed.
pub async fn smtp_raw(server: std::net::SocketAddr, from: &str, to: &str, data: &[u8]) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let s = tokio::net::TcpStream::connect(server).await.unwrap();
    let mut r = BufReader::new(s);
    let mut out = String::new();
    async fn reply(r: &mut BufReader<tokio::net::TcpStream>, out: &mut String) {
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).await.unwrap() == 0 {
                return;
            }
            out.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return;
            }
        }
    }
    reply(&mut r, &mut out).await;
    for cmd in [
        "EHLO client.test".to_string(),
        format!("MAIL FROM:<{from}>"),
        format!("RCPT TO:<{to}>"),
        "DATA".into(),
    ] {
        r.get_mut().write_all(format!("{cmd}\r\n").as_bytes()).await.unwrap();
        reply(&mut r, &mut out).await;
    }
    r.get_mut().write_all(data).await.unwrap();
    r.get_mut().write_all(b"QUIT\r\n").await.unwrap();
    let mut rest = String::new();
    let _ = tokio::io::AsyncReadExt::read_to_string(&mut r, &mut rest).await;
    out + &rest
}

/// An address where nothing listens (a relay that is down).
pub fn dead_address() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}
