//! The `storedesk` binary as a user runs it: setup, token, serve, backup,
//! restore, and a kill -9 in the middle of writes.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Db, TestDb};

crate::both_backends!(setup_token_serve_backup_restore, acknowledged_tickets_survive_kill_9);

const BIN: &str = env!("CARGO_BIN_EXE_storedesk");

/// Runs the binary on `db` to the end; its output.
pub fn run(db: &TestDb, args: &[&str]) -> String {
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

/// The binary serving, killed when dropped.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(db: &TestDb, port: u16) -> Server {
    let listen = format!("127.0.0.1:{port}");
    serve(db, &["--listen", &listen], &format!("http://{listen}")).await
}

/// `storedesk serve` on `db` with `args`, once `base` answers `/healthz`.
pub async fn serve(db: &TestDb, args: &[&str], base: &str) -> Server {
    let child = Command::new(BIN)
        .args(["--database-url", &db.url, "serve"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            if r.status() == StatusCode::OK {
                return server;
            }
        }
        assert!(Instant::now() < deadline, "server did not come up on {base}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Plain http where other machines reach it: refused at start with what to
/// do, unless asked for.
#[test]
fn plain_http_on_the_network_needs_an_explicit_yes() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "serve",
            "--listen",
            "0.0.0.0:0",
        ])
        .output()
        .expect("spawn");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--allow-insecure-http") && err.contains("--public-url https://"),
        "{err}"
    );
    let out = Command::new(BIN)
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "serve",
            "--public-url",
            "javascript:alert(1)",
        ])
        .output()
        .expect("spawn");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--public-url"));
}

async fn setup_token_serve_backup_restore(db: Db) {
    let tdb = TestDb::new(db).await;
    let slug = run(
        &tdb,
        &[
            "setup",
            "--workspace",
            "Acme Shop",
            "--admin-email",
            "owner@acme.test",
            "--admin-password",
            "correct horse battery",
        ],
    );
    assert_eq!(slug, "acme-shop");
    let token = run(&tdb, &["token", "create", "--email", "owner@acme.test"]);
    assert!(token.starts_with("sdk_"));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    {
        let _server = start(&tdb, port).await;
        for i in 0..3 {
            let r = client
                .post(format!("{base}/api/v1/tickets"))
                .bearer_auth(&token)
                .json(&json!({ "subject": format!("T{i}"), "message": "m", "contact": { "email": "a@shop.test" } }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }
    }
    let file = tdb.dir.path().join("backup.jsonl");
    run(&tdb, &["backup", file.to_str().unwrap()]);
    // Restore into an empty SQLite data dir, as a user moving machines would.
    let restored = TestDb::new(Db::Sqlite).await;
    let target = restored.dir.path();
    let out = Command::new(BIN)
        .args([
            "--data-dir",
            target.to_str().unwrap(),
            "restore",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let port = free_port();
    let _server = start(&restored, port).await;
    let r: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/api/v1/tickets"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subjects: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, vec!["T2", "T1", "T0"]);
    // A second restore into the same place is refused, not merged.
    let out = Command::new(BIN)
        .args([
            "--data-dir",
            target.to_str().unwrap(),
            "restore",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}

async fn acknowledged_tickets_survive_kill_9(db: Db) {
    let tdb = TestDb::new(db).await;
    run(
        &tdb,
        &[
            "setup",
            "--workspace",
            "Crash Shop",
            "--admin-email",
            "owner@crash.test",
            "--admin-password",
            "correct horse battery",
        ],
    );
    let token = run(&tdb, &["token", "create", "--email", "owner@crash.test"]);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&tdb, port).await;

    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(i64, i64)>::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, token, base) = (acked.clone(), token.clone(), base.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for i in 0.. {
                    let r = client.post(format!("{base}/api/v1/tickets")).bearer_auth(&token).json(&json!({ "subject": format!("w{w} #{i}"), "message": "m", "contact": { "email": format!("w{w}@shop.test") } })).send().await;
                    match r {
                        Ok(r) if r.status() == StatusCode::CREATED => {
                            let t: serde_json::Value = match r.json().await {
                                Ok(t) => t,
                                Err(_) => break,
                            };
                            acked.lock().unwrap().push((t["id"].as_i64().unwrap(), t["number"].as_i64().unwrap()));
                        }
                        _ => break,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.0.kill().unwrap(); // SIGKILL: no shutdown, no flush.
    server.0.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 20,
        "only {} tickets acknowledged before the kill",
        acked.len()
    );

    let _server = start(&tdb, port).await;
    let client = reqwest::Client::new();
    for (id, number) in &acked {
        let r = client
            .get(format!("{base}/api/v1/tickets/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "acknowledged ticket {id} lost");
        let t: serde_json::Value = r.json().await.unwrap();
        assert_eq!(t["number"], *number);
    }
    let r: serde_json::Value = client
        .post(format!("{base}/api/v1/tickets"))
        .bearer_auth(&token)
        .json(&json!({ "subject": "after", "message": "m", "contact": { "email": "x@shop.test" } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let max = acked.iter().map(|(_, n)| *n).max().unwrap();
    assert!(r["number"].as_i64().unwrap() > max);
    eprintln!(
        "kill -9 after {} acknowledged tickets: all present after restart",
        acked.len()
    );
}

/// `storedesk bench events`, small: page views and event batches from a
/// few loopback addresses with the limits on, and the chat's round trip,
/// on both databases. No timing is checked.
#[cfg(feature = "bench")]
#[test]
fn bench_events_runs_small() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--data-dir", dir.path().to_str().unwrap()])
        .args([
            "bench",
            "events",
            "--per-minute",
            "600",
            "--seconds",
            "2",
            "--addresses",
            "4",
        ])
        .output()
        .expect("spawn");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    for backend in ["sqlite", "postgres"] {
        let row = table
            .lines()
            .find(|l| l.starts_with(backend))
            .unwrap_or_else(|| panic!("{table}"));
        // 20 visitors, none refused.
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!((cols[1], cols[2], cols[3]), ("20", "0", "0"), "{table}");
    }
}

/// `storedesk bench relevance` reads the fixture files it is pointed at and
/// prints one row per set and language; a wrong directory is an error.
#[cfg(feature = "bench")]
#[test]
fn bench_relevance_prints_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let run = |fixtures: &str| {
        Command::new(BIN)
            .args(["--data-dir", dir.path().to_str().unwrap()])
            .args(["bench", "relevance", "--fixtures", fixtures])
            .output()
            .expect("spawn")
    };
    let out = run(fixtures);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with("| set | language | questions | top-1 | top-3 |"),
        "{table}"
    );
    for row in [
        "| kb (fixture) | en |",
        "| kb-eval dev | fa |",
        "| kb-eval test | all |",
    ] {
        assert!(table.contains(row), "no {row}:\n{table}");
    }
    let out = run(dir.path().to_str().unwrap());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("kb/faq.json"));
}
