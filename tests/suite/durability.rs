//! The event log under a crash and in a cluster: events of everything that
//! was acknowledged survive a kill -9 exactly once, the consumers catch up
//! after the restart, and the cluster-wide outbox consumer runs on one node
//! at a time and fails over without sending a reply twice.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Db, Socket, TestDb};

crate::both_backends!(events_survive_kill_9);

const BIN: &str = env!("CARGO_BIN_EXE_storedesk");

fn run(db: &TestDb, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["--database-url", &db.url])
        .args(args)
        .output()
        .expect("run storedesk");
    assert!(
        out.status.success(),
        "storedesk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A server subprocess; its output goes to a log file whose end is printed
/// when a test fails while it is around.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL"); // no shutdown, no flush
        self.child.wait().expect("reap");
    }
}

fn print_tail(log: &Path) {
    if let Ok(text) = std::fs::read_to_string(log) {
        let lines: Vec<&str> = text.lines().collect();
        eprintln!("--- last lines of {} ---", log.display());
        for l in &lines[lines.len().saturating_sub(40)..] {
            eprintln!("{l}");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            print_tail(&self.log);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `storedesk serve` on `port` with its own data dir and waits for /healthz.
async fn start(db: &TestDb, data_dir: &Path, port: u16, log_name: &str) -> Server {
    std::fs::create_dir_all(data_dir).unwrap();
    let log = db.dir.path().join(log_name);
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let err = out.try_clone().unwrap();
    let child = Command::new(BIN)
        .args([
            "--database-url",
            &db.url,
            "--data-dir",
            data_dir.to_str().unwrap(),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("spawn");
    let mut server = Server { child, log };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
            if r.status() == StatusCode::OK {
                return server;
            }
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("the server on port {port} exited while starting: {status}");
        }
        assert!(Instant::now() < deadline, "the server on port {port} did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A word no other word in the test equals or stems to: consonants only, so
/// no English suffix rule touches it, and of fixed length, so none is a
/// prefix of another.
fn word(prefix: &str, mut n: usize) -> String {
    const LETTERS: &[u8] = b"bcfhjkmpqrtvwxz";
    let mut s = String::from(prefix);
    for _ in 0..5 {
        s.push(LETTERS[n % LETTERS.len()] as char);
        n /= LETTERS.len();
    }
    s
}

/// The whole event feed, page by page along next_cursor.
async fn all_events(c: &reqwest::Client, base: &str, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = c
            .get(format!("{base}/api/v1/events"))
            .bearer_auth(token)
            .query(&[("limit", "500")]);
        if let Some(cur) = &cursor {
            req = req.query(&[("after", cur.as_str())]);
        }
        let r = req.send().await.expect("GET /api/v1/events");
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET /api/v1/events after {cursor:?}: {text}");
        let page: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        let events = page["events"]
            .as_array()
            .unwrap_or_else(|| panic!("no events array: {page}"))
            .clone();
        let next = page["next_cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("next_cursor is always present: {page}"))
            .to_string();
        if events.is_empty() {
            return out;
        }
        assert!(events.len() <= 500, "limit=500 gave {} events", events.len());
        assert_ne!(
            cursor.as_deref(),
            Some(next.as_str()),
            "next_cursor did not move after a page of {} events",
            events.len()
        );
        out.extend(events);
        cursor = Some(next);
    }
}

/// The value of `name{...consumer="CONSUMER"...}` in a Prometheus text page.
fn metric(text: &str, name: &str, consumer: &str) -> Option<f64> {
    let want = format!("consumer=\"{consumer}\"");
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let rest = l.strip_prefix(name)?;
        let rest = rest.strip_prefix('{')?;
        let (labels, value) = rest.split_once('}')?;
        if !labels.split(',').any(|p| p.trim() == want) {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

async fn metrics(c: &reqwest::Client, base: &str) -> Option<String> {
    let r = c.get(format!("{base}/metrics")).send().await.ok()?;
    if r.status() != StatusCode::OK {
        return None;
    }
    r.text().await.ok()
}

/// A ticket the API acknowledged: id and the unique words of its subject and message.
#[derive(Clone, Debug)]
struct AckedTicket {
    id: i64,
    subject_word: String,
    message_word: String,
}

/// A chat message a visitor got an ack for.
#[derive(Clone, Debug)]
struct AckedChat {
    visitor: usize,
    seq: usize,
    id: i64,
    word: String,
}

async fn events_survive_kill_9(db: Db) {
    let tdb = TestDb::new(db).await;
    let slug = run(
        &tdb,
        &[
            "setup",
            "--workspace",
            "Event Shop",
            "--admin-email",
            "owner@events.test",
            "--admin-password",
            "correct horse battery",
        ],
    );
    let token = run(&tdb, &["token", "create", "--email", "owner@events.test"]);
    let data_dir = tdb.dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&tdb, &data_dir, port, "server-1.log").await;

    let counter = Arc::new(AtomicUsize::new(0));
    let tickets = Arc::new(Mutex::new(Vec::<AckedTicket>::new()));
    let chats = Arc::new(Mutex::new(Vec::<AckedChat>::new()));
    // Answers that came from a living server but were not what we asked for.
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));

    // The visitors are connected before the stream starts.
    let mut visitors = Vec::new();
    for v in 0..4 {
        let mut s = Socket::connect(
            &format!("ws://127.0.0.1:{port}/ws?workspace={slug}"),
            Some("http://shop.test"),
        )
        .await
        .expect("visitor socket");
        s.send(json!({ "type": "hello", "token": null, "last_id": 0, "lang": "en", "page": { "url": "http://shop.test/cart", "title": "Cart" } })).await;
        let w = s.until("welcome").await;
        assert!(w["visitor_token"].is_string(), "{w}");
        visitors.push((v, s));
    }

    let mut tasks = Vec::new();
    for w in 0..8 {
        let (counter, tickets, errors, token, base) = (
            counter.clone(),
            tickets.clone(),
            errors.clone(),
            token.clone(),
            base.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let c = client();
            loop {
                let n = counter.fetch_add(2, Ordering::SeqCst);
                let (sw, mw) = (word("zq", n), word("zq", n + 1));
                let body = json!({ "subject": format!("Parcel {sw} missing"), "message": format!("Writer {w} says {mw} never arrived"), "contact": { "email": format!("w{w}@shop.test"), "name": format!("Writer {w}") } });
                let r = match c.post(format!("{base}/api/v1/tickets")).bearer_auth(&token).json(&body).send().await {
                    Ok(r) => r,
                    Err(_) => break, // the server died
                };
                let status = r.status();
                let Ok(text) = r.text().await else { break };
                if status != StatusCode::CREATED {
                    errors.lock().unwrap().push(format!("POST /api/v1/tickets: {status} {text}"));
                    break;
                }
                let t: Value = match serde_json::from_str(&text) {
                    Ok(t) => t,
                    Err(_) => break, // cut off mid-body: not acknowledged
                };
                tickets.lock().unwrap().push(AckedTicket { id: t["id"].as_i64().expect("ticket id"), subject_word: sw, message_word: mw });
            }
        }));
    }
    for (v, mut s) in visitors {
        let (counter, chats, errors) = (counter.clone(), chats.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            // A visitor's socket takes 5 frames a second after a burst of 30: stay under that.
            'messages: for seq in 0.. {
                let w = word("zk", counter.fetch_add(1, Ordering::SeqCst));
                let client_id = format!("v{v}-{seq}");
                s.send_raw(tokio_tungstenite::tungstenite::Message::Text(json!({ "type": "message", "client_id": client_id, "body": format!("Visitor {v} asks about {w} today") }).to_string().into()))
                    .await
                    .ok();
                loop {
                    match s.next().await {
                        None => break 'messages, // the server died
                        Some(f) if f["type"] == "ack" && f["client_id"] == client_id.as_str() => {
                            chats.lock().unwrap().push(AckedChat { visitor: v, seq, id: f["id"].as_i64().expect("ack id"), word: w.clone() });
                            break;
                        }
                        Some(f) if f["type"] == "error" => {
                            errors.lock().unwrap().push(format!("visitor {v}: {f}"));
                            break 'messages;
                        }
                        Some(_) => continue,
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }));
    }

    // Write for a while (at least 1.5 s, and until there is something to check), then kill -9 mid-stream.
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (nt, nc) = (tickets.lock().unwrap().len(), chats.lock().unwrap().len());
        if started.elapsed() >= Duration::from_millis(1500) && nt >= 40 && nc >= 8 {
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
        if !errors.lock().unwrap().is_empty() {
            break;
        }
    }
    server.kill_9();
    for t in tasks {
        t.await.expect("writer task");
    }
    let errors = errors.lock().unwrap().clone();
    assert!(
        errors.is_empty(),
        "the server refused writes before the kill: {errors:?}"
    );
    let tickets = tickets.lock().unwrap().clone();
    let chats = chats.lock().unwrap().clone();
    assert!(
        tickets.len() >= 20,
        "only {} tickets acknowledged before the kill",
        tickets.len()
    );
    assert!(
        chats.len() >= 4,
        "only {} chat messages acknowledged before the kill",
        chats.len()
    );
    eprintln!(
        "kill -9 after {} acknowledged tickets and {} acknowledged chat messages",
        tickets.len(),
        chats.len()
    );

    // Restart on the same database and data dir.
    let _server = start(&tdb, &data_dir, port, "server-2.log").await;
    let c = client();
    let events = all_events(&c, &base, &token).await;

    // Ids are unique and in order.
    let mut seen = HashSet::new();
    for e in &events {
        let id = e["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("event without an integer id: {e}"));
        assert!(seen.insert(id), "event id {id} appears twice in the feed");
    }
    for pair in events.windows(2) {
        assert!(
            pair[0]["id"].as_i64() < pair[1]["id"].as_i64(),
            "the feed is not in id order: {} then {}",
            pair[0],
            pair[1]
        );
    }
    let mut ticket_created: HashMap<i64, Vec<&Value>> = HashMap::new();
    for e in events.iter().filter(|e| e["type"] == "ticket.created") {
        ticket_created
            .entry(
                e["ticket_id"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("ticket.created without ticket_id: {e}")),
            )
            .or_default()
            .push(e);
    }
    let mut message_created: HashMap<i64, Vec<&Value>> = HashMap::new();
    let mut messages_of_ticket: HashMap<i64, Vec<&Value>> = HashMap::new();
    for e in events.iter().filter(|e| e["type"] == "message.created") {
        message_created
            .entry(
                e["message_id"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("message.created without message_id: {e}")),
            )
            .or_default()
            .push(e);
        messages_of_ticket
            .entry(
                e["ticket_id"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("message.created without ticket_id: {e}")),
            )
            .or_default()
            .push(e);
    }
    // Nothing is announced twice, acknowledged or not.
    for (t, es) in &ticket_created {
        assert_eq!(es.len(), 1, "ticket {t} has {} ticket.created events: {es:?}", es.len());
    }
    for (m, es) in &message_created {
        assert_eq!(
            es.len(),
            1,
            "message {m} has {} message.created events: {es:?}",
            es.len()
        );
    }

    // Every acknowledged API ticket: one ticket.created and one message.created, for its first message.
    let firsts: Vec<(i64, Value)> = futures::stream::iter(tickets.iter().map(|t| {
        let (c, base, token, id) = (c.clone(), base.clone(), token.clone(), t.id);
        async move {
            let r = c
                .get(format!("{base}/api/v1/tickets/{id}/messages"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "acknowledged ticket {id} lost");
            (id, r.json::<Value>().await.unwrap())
        }
    }))
    .buffer_unordered(8)
    .collect()
    .await;
    let firsts: HashMap<i64, Value> = firsts.into_iter().collect();
    for t in &tickets {
        let created = ticket_created
            .get(&t.id)
            .unwrap_or_else(|| panic!("acknowledged ticket {} has no ticket.created event", t.id));
        let e = created[0];
        assert_eq!(e["changes"]["channel"], "api", "{e}");
        assert_eq!(e["actor"]["type"], "contact", "a ticket opened for a customer: {e}");
        let msgs = messages_of_ticket
            .get(&t.id)
            .unwrap_or_else(|| panic!("acknowledged ticket {} has no message.created event", t.id));
        assert_eq!(
            msgs.len(),
            1,
            "ticket {} has one message but {} message.created events: {msgs:?}",
            t.id,
            msgs.len()
        );
        let first = &firsts[&t.id]["items"][0];
        assert_eq!(
            msgs[0]["message_id"], first["id"],
            "the message.created of ticket {} is not about its first message {first}",
            t.id
        );
        assert_eq!(msgs[0]["actor"]["type"], "contact", "{}", msgs[0]);
    }

    // Every acknowledged chat message: one message.created; each visitor's first opened a chat ticket.
    let mut chat_ticket: HashMap<usize, i64> = HashMap::new();
    for m in &chats {
        let es = message_created.get(&m.id).unwrap_or_else(|| {
            panic!(
                "acknowledged chat message {} (visitor {}, #{}) has no message.created event",
                m.id, m.visitor, m.seq
            )
        });
        let e = es[0];
        let tid = e["ticket_id"].as_i64().unwrap();
        assert_eq!(e["actor"]["type"], "contact", "{e}");
        let known = *chat_ticket.entry(m.visitor).or_insert(tid);
        assert_eq!(
            known, tid,
            "visitor {}'s messages landed on two tickets: {e}",
            m.visitor
        );
        if m.seq == 0 {
            let created = ticket_created.get(&tid).unwrap_or_else(|| {
                panic!(
                    "chat ticket {tid} opened by acknowledged message {} has no ticket.created event",
                    m.id
                )
            });
            assert_eq!(created[0]["changes"]["channel"], "chat", "{}", created[0]);
        } else {
            assert_eq!(e["changes"]["kind"], "reply", "{e}");
        }
    }

    // The consumers catch up with the log after the restart.
    let head = events
        .iter()
        .filter_map(|e| e["id"].as_i64())
        .max()
        .expect("some events") as f64;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = metrics(&c, &base).await.unwrap_or_default();
        let (search, realtime) = (
            metric(&text, "storedesk_event_consumer_position", "search"),
            metric(&text, "storedesk_event_consumer_position", "realtime"),
        );
        if search.is_some_and(|p| p >= head) && realtime.is_some_and(|p| p >= head) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after 30 s the consumers are at search={search:?} realtime={realtime:?}, the log's head is {head}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Search finds every acknowledged ticket and chat message by its unique word.
    let mut wanted: Vec<(String, i64)> = Vec::new();
    for t in &tickets {
        wanted.push((t.subject_word.clone(), t.id));
        wanted.push((t.message_word.clone(), t.id));
    }
    for m in &chats {
        wanted.push((m.word.clone(), chat_ticket[&m.visitor]));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut first_round = true;
    loop {
        let missing: Vec<(String, i64)> = futures::stream::iter(wanted.iter().cloned().map(|(w, id)| {
            let (c, base, token) = (c.clone(), base.clone(), token.clone());
            async move {
                let r = c
                    .get(format!("{base}/api/v1/tickets"))
                    .bearer_auth(&token)
                    .query(&[("q", w.as_str())])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                let v: Value = r.json().await.unwrap();
                let found = v["items"].as_array().unwrap().iter().any(|t| t["id"] == id);
                (!found).then_some((w, id))
            }
        }))
        .buffer_unordered(8)
        .filter_map(|x| async move { x })
        .collect()
        .await;
        if missing.is_empty() {
            break;
        }
        if first_round {
            eprintln!(
                "{} of {} words not found right after the search consumer caught up; polling",
                missing.len(),
                wanted.len()
            );
            first_round = false;
        }
        assert!(
            Instant::now() < deadline,
            "search does not find {} of {} acknowledged words (word, ticket): {:?}",
            missing.len(),
            wanted.len(),
            &missing[..missing.len().min(20)]
        );
        wanted = missing;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Both nodes' outbox leader gauges (None when a node does not answer or lacks it).
async fn leaders(c: &reqwest::Client, bases: &[&str]) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for b in bases {
        out.push(
            metrics(c, b)
                .await
                .and_then(|t| metric(&t, "storedesk_event_consumer_leader", "outbox")),
        );
    }
    out
}

async fn read_outbox(pool: &sqlx::PgPool) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT kind, body, status FROM outbox ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("read the outbox")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_consumer_runs_on_one_node_and_fails_over() {
    let tdb = TestDb::new(Db::Postgres).await;
    run(
        &tdb,
        &[
            "setup",
            "--workspace",
            "Cluster Shop",
            "--admin-email",
            "owner@cluster.test",
            "--admin-password",
            "correct horse battery",
        ],
    );
    let token = run(&tdb, &["token", "create", "--email", "owner@cluster.test"]);
    let (port_a, port_b) = (free_port(), free_port());
    let bases = [
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    ];
    let mut servers = vec![
        Some(start(&tdb, &tdb.dir.path().join("node-a"), port_a, "node-a.log").await),
        Some(start(&tdb, &tdb.dir.path().join("node-b"), port_b, "node-b.log").await),
    ];
    let c = client();

    // Exactly one node holds the outbox lease.
    let deadline = Instant::now() + Duration::from_secs(15);
    let leader = loop {
        let l = leaders(&c, &[bases[0].as_str(), bases[1].as_str()]).await;
        match (l[0], l[1]) {
            (Some(a), Some(b)) if a == 1.0 && b == 0.0 => break 0,
            (Some(a), Some(b)) if a == 0.0 && b == 1.0 => break 1,
            _ => {}
        }
        assert!(Instant::now() < deadline, "no single outbox leader after 15 s: storedesk_event_consumer_leader{{consumer=\"outbox\"}} on A, B = {l:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let survivor = 1 - leader;

    // An API ticket with the customer's address: agent replies on it are mailed.
    let r = c.post(format!("{}/api/v1/tickets", bases[0])).bearer_auth(&token).json(&json!({ "subject": "Where is my parcel", "message": "Ordered a week ago.", "contact": { "email": "buyer@shop.test", "name": "Buyer" } })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let tid = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let mut tokens: Vec<String> = Vec::new();
    let post_reply = |node: usize, n: usize| {
        let (c, base, token) = (c.clone(), bases[node].clone(), token.clone());
        async move {
            let tok = word("zr", n);
            let r = c
                .post(format!("{base}/api/v1/tickets/{tid}/messages"))
                .bearer_auth(&token)
                .json(
                    &json!({ "body": format!("Reply number {n}: your parcel {tok} is on its way."), "kind": "reply" }),
                )
                .send()
                .await
                .unwrap();
            let status = r.status();
            assert_eq!(
                status,
                StatusCode::CREATED,
                "reply {n} through node {node}: {}",
                r.text().await.unwrap_or_default()
            );
            tok
        }
    };
    // Replies through both nodes, alternately.
    for n in 0..10 {
        tokens.push(post_reply(n % 2, n).await);
    }

    // The leader dies in the middle of a stream of replies posted to it
    // (so some are acknowledged and not yet turned into mail); replies keep
    // coming through the survivor. A reply whose answer was cut off may or
    // may not have been stored: it may get a mail, but never two.
    let pool = sqlx::PgPool::connect(&tdb.url)
        .await
        .expect("connect to the test database");
    let next = Arc::new(AtomicUsize::new(tokens.len()));
    let sent = Arc::new(Mutex::new(Vec::<String>::new()));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(Mutex::new(Vec::<String>::new()));
    let burst: Vec<_> = (0..4)
        .map(|_| {
            let (c, base, token, next, sent, acked, refused) = (c.clone(), bases[leader].clone(), token.clone(), next.clone(), sent.clone(), acked.clone(), refused.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let tok = word("zr", n);
                    sent.lock().unwrap().push(tok.clone());
                    let r = match c.post(format!("{base}/api/v1/tickets/{tid}/messages")).bearer_auth(&token).json(&json!({ "body": format!("Reply number {n}: your parcel {tok} is on its way."), "kind": "reply" })).send().await {
                        Ok(r) => r,
                        Err(_) => break, // the leader died
                    };
                    let status = r.status();
                    let Ok(text) = r.text().await else { break };
                    if status != StatusCode::CREATED {
                        refused.lock().unwrap().push(format!("reply {n}: {status} {text}"));
                        break;
                    }
                    if serde_json::from_str::<Value>(&text).is_err() {
                        break; // cut off mid-body: not acknowledged
                    }
                    acked.lock().unwrap().push(tok);
                }
            })
        })
        .collect();
    let started = Instant::now();
    while acked.lock().unwrap().len() < 20
        && started.elapsed() < Duration::from_secs(10)
        && refused.lock().unwrap().is_empty()
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    servers[leader].as_mut().unwrap().kill_9();
    for b in burst {
        b.await.expect("reply task");
    }
    let refused = refused.lock().unwrap().clone();
    assert!(
        refused.is_empty(),
        "the leader refused replies before the kill: {refused:?}"
    );
    let acked = acked.lock().unwrap().clone();
    let maybe: Vec<String> = sent
        .lock()
        .unwrap()
        .iter()
        .filter(|t| !acked.contains(t))
        .cloned()
        .collect();
    tokens.extend(acked.iter().cloned());
    let queued = read_outbox(&pool)
        .await
        .iter()
        .filter(|(kind, _, _)| kind == "reply")
        .count();
    eprintln!(
        "{queued} reply mails queued when the leader was killed after {} acknowledged replies ({} in flight)",
        tokens.len(),
        maybe.len()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut after_takeover = 0;
    let mut n = next.load(Ordering::SeqCst);
    let before_kill = tokens.len();
    while after_takeover < 3 {
        tokens.push(post_reply(survivor, n).await);
        n += 1;
        let l = leaders(&c, &[bases[survivor].as_str()]).await[0];
        if l == Some(1.0) {
            after_takeover += 1;
        } else {
            assert!(
                Instant::now() < deadline,
                "15 s after the leader's kill -9 the survivor still shows leader {l:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!(
        "{} replies acknowledged, {} of them after the kill",
        tokens.len(),
        tokens.len() - before_kill
    );

    // The outbox ends up with exactly one reply mail per acknowledged reply.
    let mails = |rows: &[(String, String, String)], tok: &str| {
        rows.iter()
            .filter(|(kind, body, _)| kind == "reply" && body.contains(tok))
            .count()
    };
    let check = |rows: &[(String, String, String)]| -> Vec<usize> {
        let dup: Vec<(&String, usize)> = tokens
            .iter()
            .chain(maybe.iter())
            .map(|t| (t, mails(rows, t)))
            .filter(|(_, k)| *k > 1)
            .collect();
        assert!(dup.is_empty(), "replies mailed more than once (token, mails): {dup:?}");
        let strays: Vec<&String> = rows
            .iter()
            .filter(|(kind, body, _)| {
                kind == "reply" && !tokens.iter().chain(maybe.iter()).any(|t| body.contains(t.as_str()))
            })
            .map(|(_, b, _)| b)
            .collect();
        assert!(strays.is_empty(), "reply mails that match no posted reply: {strays:?}");
        tokens.iter().map(|t| mails(rows, t)).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = read_outbox(&pool).await;
        let per = check(&rows);
        if per.iter().all(|k| *k == 1) {
            break;
        }
        let missing: Vec<&String> = tokens
            .iter()
            .zip(per.iter())
            .filter(|(_, k)| **k == 0)
            .map(|(t, _)| t)
            .collect();
        assert!(
            Instant::now() < deadline,
            "after 20 s {} of {} acknowledged replies have no mail in the outbox: {missing:?}; outbox: {rows:?}",
            missing.len(),
            tokens.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A little later still one each: nothing is mailed a second time after the failover.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rows = read_outbox(&pool).await;
    let per = check(&rows);
    assert!(
        per.iter().all(|k| *k == 1),
        "the outbox changed after all replies were queued: {per:?}"
    );
    assert!(
        rows.iter()
            .filter(|(kind, _, _)| kind == "reply")
            .all(|(_, _, status)| status == "pending"),
        "no relay: reply mail waits as pending: {rows:?}"
    );
    let in_flight_mailed = maybe.iter().filter(|t| mails(&rows, t) == 1).count();
    eprintln!(
        "{in_flight_mailed} of {} replies in flight at the kill were stored and mailed once",
        maybe.len()
    );
    pool.close().await;
    drop(servers);
}
