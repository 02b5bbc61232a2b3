//! Telegram: the Bot API client (`api`), the long-polling workers (`poll`)
//! and what an update says (`Incoming`). Filing what customers write and
//! sending what agents answer is the service layer's (`service::messengers`).

pub mod api;
pub mod poll;

use serde_json::Value;

/// A customer's file in an update: Telegram's id for it and how to name it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingFile {
    pub file_id: String,
    pub name: String,
    pub content_type: String,
}

/// What one update brings: a message from a private chat with the bot.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub update_id: i64,
    pub chat_id: String,
    pub name: String,
    pub username: Option<String>,
    pub text: String,
    pub file: Option<IncomingFile>,
}

/// The longest text kept from a message (Telegram's own limit is 4096).
const TEXT_MAX: usize = 10_000;

/// Reads an update; `None` for what is not a customer's message (edits,
/// group chats, service messages), which is skipped.
pub fn incoming(u: &Value) -> Option<Incoming> {
    let update_id = u["update_id"].as_i64()?;
    let m = &u["message"];
    let chat = &m["chat"];
    if chat["type"].as_str() != Some("private") {
        return None;
    }
    let chat_id = chat["id"].as_i64()?.to_string();
    let from = if m["from"].is_object() { &m["from"] } else { chat };
    let name = [from["first_name"].as_str(), from["last_name"].as_str()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect::<String>();
    let username = from["username"].as_str().map(|s| s.chars().take(64).collect());
    let text: String = m["text"]
        .as_str()
        .or(m["caption"].as_str())
        .unwrap_or("")
        .chars()
        .take(TEXT_MAX)
        .collect();
    let file = if let Some(sizes) = m["photo"].as_array() {
        // Sizes come smallest first: the last is the original.
        sizes.last().and_then(|p| p["file_id"].as_str()).map(|id| IncomingFile {
            file_id: id.to_string(),
            name: format!("photo-{update_id}.jpg"),
            content_type: "image/jpeg".into(),
        })
    } else if m["document"].is_object() {
        let d = &m["document"];
        d["file_id"].as_str().map(|id| IncomingFile {
            file_id: id.to_string(),
            name: d["file_name"]
                .as_str()
                .map(|n| {
                    n.chars()
                        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
                        .take(200)
                        .collect()
                })
                .filter(|n: &String| !n.is_empty())
                .unwrap_or_else(|| format!("file-{update_id}")),
            content_type: d["mime_type"]
                .as_str()
                .filter(|t| t.len() < 100 && t.contains('/'))
                .unwrap_or("application/octet-stream")
                .to_string(),
        })
    } else {
        None
    };
    if text.trim().is_empty() && file.is_none() {
        return None;
    }
    Some(Incoming {
        update_id,
        chat_id,
        name,
        username,
        text,
        file,
    })
}

/// The bot's numeric id: the token's part before the colon.
pub fn bot_id(token: &str) -> &str {
    token.split_once(':').map_or(token, |(id, _)| id)
}

/// Whether a token looks like one BotFather gives (`123456:ABC-def_...`).
pub fn token_shape_ok(token: &str) -> bool {
    match token.split_once(':') {
        Some((id, rest)) => {
            !id.is_empty()
                && id.len() <= 20
                && id.bytes().all(|b| b.is_ascii_digit())
                && (1..=100).contains(&rest.len())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_photo_and_document_messages() {
        let u = serde_json::json!({"update_id": 7, "message": {"message_id": 1, "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "first_name": "Ann", "last_name": "Lee", "username": "ann"}, "text": "hi"}});
        let i = incoming(&u).unwrap();
        assert_eq!(
            (i.chat_id.as_str(), i.name.as_str(), i.text.as_str()),
            ("42", "Ann Lee", "hi")
        );
        assert_eq!(i.username.as_deref(), Some("ann"));
        let p = serde_json::json!({"update_id": 8, "message": {"chat": {"id": 42, "type": "private"},
            "photo": [{"file_id": "small"}, {"file_id": "big"}], "caption": "look"}});
        assert_eq!(incoming(&p).unwrap().file.unwrap().file_id, "big");
        let d = serde_json::json!({"update_id": 9, "message": {"chat": {"id": 42, "type": "private"},
            "document": {"file_id": "d", "file_name": "../a.pdf", "mime_type": "application/pdf"}}});
        assert_eq!(incoming(&d).unwrap().file.unwrap().name, "..a.pdf");
        let group = serde_json::json!({"update_id": 10, "message": {"chat": {"id": -1, "type": "group"}, "text": "x"}});
        assert!(incoming(&group).is_none());
    }

    #[test]
    fn token_shapes() {
        assert!(token_shape_ok("123:ABC-def_9"));
        assert!(!token_shape_ok("abc:def"));
        assert!(!token_shape_ok("123:"));
        assert!(!token_shape_ok("123:a/b"));
        assert_eq!(bot_id("123:x"), "123");
    }
}
