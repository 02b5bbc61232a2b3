//! A small client of Telegram's Bot API (`{base}/bot<token>/<method>`),
//! with a timeout on every call and bounded answers. Telegram answers
//! `{"ok":true,"result":...}` or `{"ok":false,"error_code":N,"description":...,
//! "parameters":{"retry_after":S}}`; the latter becomes [`TgError::Refused`].

use std::time::Duration;

use serde_json::Value;

/// The longest answer read from the Bot API (a page of updates).
const ANSWER_MAX: usize = 4 * 1024 * 1024;
/// The largest file taken from a customer (the Bot API serves up to 20 MB).
pub const FILE_MAX: usize = 20 * 1024 * 1024;
/// How long getUpdates waits for news; the client waits longer.
pub const POLL_TIMEOUT_S: u64 = 25;
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, PartialEq)]
pub enum TgError {
    /// Telegram answered with an error.
    Refused {
        code: i64,
        description: String,
        retry_after: Option<u64>,
    },
    /// No answer, or not one we understand.
    Transport(String),
}

impl std::fmt::Display for TgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TgError::Refused { code, description, .. } => write!(f, "Telegram refused ({code}): {description}"),
            TgError::Transport(e) => write!(f, "Telegram not reached: {e}"),
        }
    }
}

impl TgError {
    /// The user blocked the bot (or deleted the chat): retrying is pointless.
    pub fn is_blocked(&self) -> bool {
        matches!(self, TgError::Refused { code: 403, .. })
    }
}

/// One bot on one Bot API server.
#[derive(Clone)]
pub struct Bot {
    base: String,
    token: String,
}

fn client() -> &'static reqwest::Client {
    static C: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client")
    })
}

/// Reads at most `max` bytes of an answer; more is an error.
pub async fn read_capped(mut r: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    if r.content_length().is_some_and(|n| n as usize > max) {
        return Err(format!("answer larger than {max} bytes"));
    }
    let mut out = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + chunk.len() > max {
            return Err(format!("answer larger than {max} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

impl Bot {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base, self.token)
    }

    async fn answer(r: Result<reqwest::Response, reqwest::Error>) -> Result<Value, TgError> {
        // Errors never carry the URL: it holds the token.
        let r = r.map_err(|e| TgError::Transport(e.without_url().to_string()))?;
        let status = r.status();
        let body = read_capped(r, ANSWER_MAX).await.map_err(TgError::Transport)?;
        let v: Value = serde_json::from_slice(&body)
            .map_err(|_| TgError::Transport(format!("not a Bot API answer (HTTP {status})")))?;
        if v["ok"].as_bool() == Some(true) {
            return Ok(v["result"].clone());
        }
        Err(TgError::Refused {
            code: v["error_code"].as_i64().unwrap_or(i64::from(status.as_u16())),
            description: v["description"]
                .as_str()
                .unwrap_or("no description")
                .chars()
                .take(300)
                .collect(),
            retry_after: v["parameters"]["retry_after"].as_u64(),
        })
    }

    async fn call(&self, method: &str, params: Value, timeout: Duration) -> Result<Value, TgError> {
        Self::answer(
            client()
                .post(self.url(method))
                .json(&params)
                .timeout(timeout)
                .send()
                .await,
        )
        .await
    }

    /// The bot itself; a bad token is refused (401).
    pub async fn get_me(&self) -> Result<Value, TgError> {
        self.call("getMe", serde_json::json!({}), CALL_TIMEOUT).await
    }

    /// Updates from `offset` on, waiting up to `POLL_TIMEOUT_S` for news.
    pub async fn get_updates(&self, offset: i64) -> Result<Vec<Value>, TgError> {
        let params = serde_json::json!({
            "offset": offset,
            "timeout": POLL_TIMEOUT_S,
            "allowed_updates": ["message"],
        });
        let v = self
            .call("getUpdates", params, Duration::from_secs(POLL_TIMEOUT_S + 15))
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    pub async fn set_webhook(&self, url: &str, secret: &str) -> Result<(), TgError> {
        let params = serde_json::json!({ "url": url, "secret_token": secret, "allowed_updates": ["message"] });
        self.call("setWebhook", params, CALL_TIMEOUT).await.map(|_| ())
    }

    pub async fn delete_webhook(&self) -> Result<(), TgError> {
        self.call("deleteWebhook", serde_json::json!({}), CALL_TIMEOUT)
            .await
            .map(|_| ())
    }

    pub async fn send_message(&self, chat_id: &str, text: &str) -> Result<(), TgError> {
        let params = serde_json::json!({ "chat_id": chat_id, "text": text });
        self.call("sendMessage", params, CALL_TIMEOUT).await.map(|_| ())
    }

    /// A file as a photo (shown inline) or a document, by multipart upload.
    pub async fn send_file(
        &self,
        chat_id: &str,
        photo: bool,
        name: &str,
        content_type: &str,
        data: Vec<u8>,
    ) -> Result<(), TgError> {
        let (method, field) = if photo {
            ("sendPhoto", "photo")
        } else {
            ("sendDocument", "document")
        };
        let part = reqwest::multipart::Part::bytes(data)
            .file_name(name.to_string())
            .mime_str(content_type)
            .map_err(|e| TgError::Transport(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .text("chat_id", chat_id.to_string())
            .part(field, part);
        Self::answer(
            client()
                .post(self.url(method))
                .multipart(form)
                .timeout(Duration::from_secs(60))
                .send()
                .await,
        )
        .await
        .map(|_| ())
    }

    /// A customer's file: its path by getFile, then its bytes (up to `FILE_MAX`).
    pub async fn download(&self, file_id: &str) -> Result<Vec<u8>, TgError> {
        let f = self
            .call("getFile", serde_json::json!({ "file_id": file_id }), CALL_TIMEOUT)
            .await?;
        if f["file_size"].as_u64().is_some_and(|n| n as usize > FILE_MAX) {
            return Err(TgError::Transport("file too large".into()));
        }
        let Some(path) = f["file_path"].as_str() else {
            return Err(TgError::Transport("getFile gave no path".into()));
        };
        if path.contains("..") {
            return Err(TgError::Transport("odd file path".into()));
        }
        let url = format!("{}/file/bot{}/{path}", self.base, self.token);
        let r = client()
            .get(url)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|e| TgError::Transport(e.without_url().to_string()))?;
        if !r.status().is_success() {
            return Err(TgError::Transport(format!("file not served (HTTP {})", r.status())));
        }
        read_capped(r, FILE_MAX).await.map_err(TgError::Transport)
    }
}
