//! A minimal WebDriver client: starts `chromedriver` on a free port, opens
//! one headless Chromium session, and speaks the W3C protocol over HTTP
//! with reqwest. Both the session and the driver go away on drop, also
//! when a test panics.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Driver {
    port: u16,
    base: String,
    client: reqwest::Client,
    session: Option<String>,
    child: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub async fn start() -> Driver {
        let port = free_port();
        let exe = if std::path::Path::new("/usr/bin/chromedriver").exists() {
            "/usr/bin/chromedriver"
        } else {
            "chromedriver"
        };
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {exe} ({e}); scripts/test installs chromium and chromium-driver"));
        let profile = tempfile::tempdir().expect("profile dir");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let mut d = Driver {
            port,
            base: format!("http://127.0.0.1:{port}"),
            client,
            session: None,
            child,
            _profile: profile,
        };

        // Wait until the driver answers and says it is ready.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = d.client.get(format!("{}/status", d.base)).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"] == true {
                        break;
                    }
                }
            }
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("chromedriver exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--no-first-run".into(),
            "--disable-quic".into(),
            "--disable-sync".into(),
            "--window-size=1280,800".into(),
            format!("--user-data-dir={}", d._profile.path().display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        } } });
        let v = d
            .raw(reqwest::Method::POST, "/session", Some(caps))
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"));
        d.session = Some(v["sessionId"].as_str().expect("sessionId").to_string());
        d
    }

    /// One command; the `value` of the answer, or the driver's error.
    async fn raw(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut req = self.client.request(method.clone(), format!("{}{}", self.base, path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = res.status();
        let v: Value = res
            .json()
            .await
            .map_err(|e| format!("{method} {path}: not JSON: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "{method} {path} → {status}: {} {}",
                v["value"]["error"], v["value"]["message"]
            ));
        }
        Ok(v["value"].clone())
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let sid = self.session.as_deref().expect("session");
        self.raw(method, &format!("/session/{sid}{path}"), body)
            .await
            .unwrap_or_else(|e| panic!("webdriver: {e}"))
    }

    /// Navigates and waits for the page's load event.
    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Runs `script` as a function body (arguments in `arguments`) and
    /// returns what it returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Puts a file into the file input `selector` matches, as a user
    /// choosing it would.
    pub async fn upload(&self, selector: &str, path: &std::path::Path) {
        let el = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .await;
        let id = el
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no element {selector}"))
            .to_string();
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": path.display().to_string() })),
        )
        .await;
    }

    /// Runs `script` with a callback as its last argument; returns what
    /// the script passes to it.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Runs axe-core on the page as it stands and fails on any serious or
    /// critical violation, naming the rule and the elements.
    pub async fn accessibility(&self, what: &str) {
        static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let src = AXE.get_or_init(|| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/axe/axe.min.js");
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}; scripts/test fetches axe-core from npm", path.display()))
        });
        self.execute(&format!("{src}\n;return typeof axe === 'object';"), vec![])
            .await;
        let found = self
            .execute_async(
                "var done = arguments[arguments.length - 1];\
                 axe.run(document, { resultTypes: ['violations'] }).then(function (r) {\
                   done(r.violations.filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; })\
                     .map(function (v) { return v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.slice(0, 4).map(function (n) { return n.target.join(' > '); }).join(' | '); }));\
                 }).catch(function (e) { done(['axe did not run: ' + e]); });",
                vec![],
            )
            .await;
        let found = found.as_array().cloned().unwrap_or_default();
        assert!(
            found.is_empty(),
            "{what}: accessibility problems:\n{}",
            found
                .iter()
                .map(|v| v.as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// Runs `script` until it returns something other than null, false, 0
    /// or ""; returns that. Panics after `timeout`, printing `explain`'s
    /// result and the browser's console.
    pub async fn wait_for(
        &self,
        what: &str,
        script: &str,
        args: Vec<Value>,
        timeout: Duration,
        explain: &str,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.execute(script, args.clone()).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() > deadline {
                let state = self.execute(explain, vec![]).await;
                let logs = self.console().await;
                panic!("timed out after {timeout:?} waiting for {what}\nstate: {state}\nbrowser console:\n{logs}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The browser console so far (Chromium's logging extension), one entry a line.
    pub async fn console(&self) -> String {
        let sid = self.session.as_deref().unwrap_or("");
        match self
            .raw(
                reqwest::Method::POST,
                &format!("/session/{sid}/se/log"),
                Some(json!({ "type": "browser" })),
            )
            .await
        {
            Ok(Value::Array(entries)) => entries
                .iter()
                .map(|e| {
                    format!(
                        "  [{}] {}",
                        e["level"].as_str().unwrap_or(""),
                        e["message"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Ok(v) => v.to_string(),
            Err(e) => format!("(no console: {e})"),
        }
    }

    /// Types with real key events into whatever has focus; `\u{E007}` is
    /// Enter, `\u{E009}` Control (held until the end of this call).
    pub async fn keys(&self, text: &str) {
        let mut actions = vec![];
        let mut held = vec![];
        for c in text.chars() {
            actions.push(json!({ "type": "keyDown", "value": c.to_string() }));
            if c == '\u{E009}' || c == '\u{E008}' {
                held.push(c);
            } else {
                actions.push(json!({ "type": "keyUp", "value": c.to_string() }));
            }
        }
        for c in held {
            actions.push(json!({ "type": "keyUp", "value": c.to_string() }));
        }
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .await;
        self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Resizes the window, so a screenshot holds a whole long page.
    pub async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64_decode(v.as_str().expect("base64 screenshot")).expect("valid base64");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        png
    }

    /// Ends the session (Chromium exits) and the driver.
    pub async fn quit(mut self) {
        if let Some(sid) = self.session.take() {
            let _ = self
                .raw(reqwest::Method::DELETE, &format!("/session/{sid}"), None)
                .await;
        }
        // Drop stops the driver.
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // After a panic there is no runtime to await on: end the session
        // with a plain blocking HTTP request so Chromium does not outlive
        // the test, then stop the driver.
        if let Some(sid) = self.session.take() {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
            if let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(15)));
                let _ = write!(s, "DELETE /session/{sid} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", self.port);
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 (with or without padding; whitespace ignored).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let body = clean
        .strip_suffix(b"==")
        .or_else(|| clean.strip_suffix(b"="))
        .unwrap_or(&clean);
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        match chunk.len() {
            4 => out.extend_from_slice(&bytes),
            3 => out.extend_from_slice(&bytes[..2]),
            2 => out.push(bytes[0]),
            _ => return None,
        }
    }
    Some(out)
}

#[test]
fn base64_round_trips_known_values() {
    assert_eq!(base64_decode("").unwrap(), b"");
    assert_eq!(base64_decode("Zg==").unwrap(), b"f");
    assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
    assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
    assert_eq!(base64_decode("Zm9vYmFy\n").unwrap(), b"foobar");
    assert_eq!(base64_decode("iVBORw0KGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
    assert!(base64_decode("Zm9v!").is_none());
}
