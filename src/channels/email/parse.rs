//! Pure parsing of inbound e-mail: headers for threading, the best text, the
//! sanitised HTML, attachments and whether a human wrote it. No I/O here, so
//! the whole channel's trickiest logic is testable on fixtures alone.

use std::panic::{catch_unwind, AssertUnwindSafe};

use mail_parser::{Addr, Encoding, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};

// Declared here rather than in email/mod.rs so that file stays a bare list of
// the channel's modules.
#[path = "auto.rs"]
mod auto;
#[cfg(test)]
#[path = "corpus_tests.rs"]
mod corpus_tests;
#[path = "quotes.rs"]
mod quotes;

pub use quotes::{clean_subject, ticket_ref};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAttachment {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
    pub inline: bool,
    pub content_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoKind {
    Human,
    AutoReply,
    Bulk,
    Bounce { failed: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMail {
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub subject: String,
    pub from: Option<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<String>,
    pub date: Option<i64>,
    pub text: String,
    pub visible_text: String,
    pub html: Option<String>,
    pub attachments: Vec<ParsedAttachment>,
    pub auto: AutoKind,
}

/// Never panics, on any input. None only when nothing usable is there (no headers at all).
pub fn parse(raw: &[u8]) -> Option<ParsedMail> {
    let parser = MessageParser::default();
    let msg = match guard(|| parser.parse(raw)) {
        Some(parsed) => parsed?,
        // mail-parser has debug assertions and unchecked arithmetic on hostile
        // MIME; the headers alone are still enough to thread a reply.
        None => guard(|| parser.parse_headers(raw)).flatten()?,
    };
    let root = msg.parts.first()?;
    if root.headers.is_empty() {
        return None;
    }
    let salvage_raw = salvage(&msg);
    let salvaged = salvage_raw
        .as_deref()
        .and_then(|raw| guard(|| parser.parse(raw)).flatten());
    Some(build(&msg, salvaged.as_ref().unwrap_or(&msg)))
}

/// A multipart message whose declared boundary never occurs (broken
/// generators, hand-edited mail) comes out of mail-parser as one opaque text
/// part. When the body plainly starts with some other `--boundary` line,
/// re-reading it with that boundary recovers the customer's text and files.
fn salvage(msg: &Message<'_>) -> Option<Vec<u8>> {
    let root = msg.parts.first()?;
    let ct = root.content_type()?;
    if !ct.ctype().eq_ignore_ascii_case("multipart") || matches!(root.body, PartType::Multipart(_)) {
        return None;
    }
    let body = msg.raw_message().get(root.offset_body as usize..)?;
    let text = String::from_utf8_lossy(body.get(..body.len().min(4096))?);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let boundary = first.strip_prefix("--")?;
    if boundary.is_empty() || boundary.len() > 200 || boundary.contains(|c: char| c.is_whitespace() || c == '"') {
        return None;
    }
    let subtype = ct.subtype().unwrap_or("mixed");
    let mut raw = format!("Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\n").into_bytes();
    raw.extend_from_slice(body);
    Some(raw)
}

/// `msg` gives the headers; `body` (the same message, or its salvaged
/// re-reading) gives text, HTML and attachments.
fn build(msg: &Message<'_>, body: &Message<'_>) -> ParsedMail {
    let subject = msg
        .subject()
        .unwrap_or("")
        .replace(['\r', '\n', '\t'], " ")
        .trim()
        .to_string();
    let from = msg.from().and_then(|a| a.first()).and_then(mailbox);
    let text = body_text(body);
    let visible_text = quotes::visible(&text, quotes::is_forward(&subject));
    let auto = auto::detect(msg, body, from.as_ref());

    let to = dedup(
        msg.all_to()
            .chain(msg.all_cc())
            .flat_map(|a| a.iter())
            .filter_map(|a| mailbox(a).map(|m| m.address)),
    );

    ParsedMail {
        message_id: msg.message_id().and_then(clean_id),
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
        subject,
        from,
        reply_to: msg.reply_to().and_then(|a| a.first()).and_then(mailbox),
        to,
        date: msg
            .date()
            .filter(|d| d.is_valid())
            .map(|d| d.to_timestamp().saturating_mul(1000)),
        text,
        visible_text,
        html: body_html(body),
        attachments: attachments(body),
        auto,
    }
}

/// Runs third-party parsing code so that a panic in it becomes "no result"
/// instead of taking the mail poller down.
fn guard<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

fn mailbox(addr: &Addr<'_>) -> Option<Mailbox> {
    let address = addr.address.as_deref()?.trim().to_lowercase();
    if address.is_empty() {
        return None;
    }
    let name = addr
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    Some(Mailbox { name, address })
}

fn clean_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>').trim();
    (!id.is_empty()).then(|| id.to_string())
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match value {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    dedup(list.into_iter().filter_map(clean_id))
}

/// Order-preserving, and linear: a hostile header can hold thousands of entries.
pub(super) fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|i| seen.insert(i.clone())).collect()
}

fn body_text(msg: &Message<'_>) -> String {
    let mut chunks = Vec::new();
    for &id in &msg.text_body {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        let chunk = match &part.body {
            PartType::Text(t) => t.to_string(),
            PartType::Html(h) => guard(|| mail_parser::decoders::html::html_to_text(h)).unwrap_or_default(),
            _ => continue,
        };
        chunks.push(normalize_newlines(&chunk));
    }
    let joined = chunks.join("\n\n");
    // Keep leading spaces of the first line (they may be indentation) but
    // drop blank lines around the body.
    joined.trim_start_matches(['\n', '\r']).trim_end().to_string()
}

fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn body_html(msg: &Message<'_>) -> Option<String> {
    let html: Vec<&str> = msg
        .html_body
        .iter()
        .filter_map(|&id| match &msg.parts.get(id as usize)?.body {
            PartType::Html(h) => Some(h.as_ref()),
            _ => None,
        })
        .collect();
    if html.is_empty() {
        return None;
    }
    sanitize_html(&html.join("\n")).map(|h| h.trim().to_string())
}

/// Ammonia's defaults already drop scripts, styles, event handlers, forms and
/// embeds; `cid:` is allowed so inline images can later be pointed at the
/// stored attachment, and a `<title>` would otherwise leak into the body.
/// HTML over the budget is not rendered: the text stands in for it and the
/// raw mail is kept.
fn sanitize_html(html: &str) -> Option<String> {
    let mut b = ammonia::Builder::default();
    b.add_url_schemes(&["cid"]).add_clean_content_tags(&["title"]);
    crate::sanitize::clean(&b, html).ok()
}

fn attachments(msg: &Message<'_>) -> Vec<ParsedAttachment> {
    let mut out = Vec::new();
    for &id in &msg.attachments {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        if matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        let content_type = content_type_of(part);
        let n = out.len() + 1;
        let name = part
            .attachment_name()
            .and_then(crate::sanitize::file_name)
            .or_else(|| {
                part.message()
                    .and_then(|m| m.subject())
                    .and_then(|s| crate::sanitize::file_name(&format!("{s}.eml")))
            })
            .unwrap_or_else(|| format!("attachment-{n}.{}", extension_for(&content_type)));
        let inline = match part.content_disposition() {
            Some(d) => d.is_inline(),
            None => part.content_id().is_some() || matches!(part.body, PartType::InlineBinary(_)),
        };
        out.push(ParsedAttachment {
            name,
            content_type,
            data: part_bytes(msg, part),
            inline,
            content_id: part.content_id().and_then(clean_id),
        });
    }
    out
}

fn part_bytes(msg: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    match &part.body {
        // A nested message that was not transfer-encoded carries the *outer*
        // raw message in mail-parser 0.11, so cut it out by offsets instead.
        PartType::Message(_) if part.encoding == Encoding::None => msg
            .raw_message()
            .get(part.offset_body as usize..part.offset_end as usize)
            .unwrap_or_default()
            .to_vec(),
        _ => recover_base64(part).unwrap_or_else(|| part.contents().to_vec()),
    }
}

/// mail-parser hands back the still-encoded text when a base64 part is cut
/// short (size limits, dropped connections); the decodable prefix of a
/// photo or PDF is worth more to an agent than base64 soup.
fn recover_base64(part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let base64 = part
        .content_transfer_encoding()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"));
    if !part.is_encoding_problem || !base64 {
        return None;
    }
    let mut clean: Vec<u8> = part
        .contents()
        .iter()
        .copied()
        .take_while(|&b| b != b'=' && b != b'-')
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        .collect();
    clean.truncate(clean.len() / 4 * 4);
    guard(|| mail_parser::decoders::base64::base64_decode(&clean)).flatten()
}

fn content_type_of(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        }
        .to_ascii_lowercase(),
        None => match part.body {
            PartType::Text(_) => "text/plain".into(),
            PartType::Html(_) => "text/html".into(),
            PartType::Message(_) => "message/rfc822".into(),
            _ => "application/octet-stream".into(),
        },
    }
}

fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/calendar" => "ics",
        "message/rfc822" | "message/global" => "eml",
        "text/rfc822-headers" | "message/delivery-status" => "txt",
        _ => "bin",
    }
}

/// Splits `local@domain` after dropping a display name and angle brackets.
fn split_address(address: &str) -> Option<(&str, &str)> {
    let mut a = address.trim();
    if let (Some(open), true) = (a.rfind('<'), a.ends_with('>')) {
        a = &a[open + 1..a.len() - 1];
    }
    let (local, domain) = a.trim().rsplit_once('@')?;
    Some((local, domain.trim_end_matches('.')))
}

/// For `slug+TOKEN@domain` (case-insensitive domain and slug) returns Some(TOKEN); None for the plain address.
pub fn reply_token(address: &str, slug: &str, domain: &str) -> Option<String> {
    let (local, dom) = split_address(address)?;
    if !dom.eq_ignore_ascii_case(domain.trim_end_matches('.')) {
        return None;
    }
    let (s, token) = local.split_once('+')?;
    (s.eq_ignore_ascii_case(slug) && !token.is_empty()).then(|| token.to_string())
}

/// The workspace slug an address is for: `slug@domain` or `slug+anything@domain` → Some(slug); other domains → None.
pub fn slug_of(address: &str, domain: &str) -> Option<String> {
    let (local, dom) = split_address(address)?;
    if !dom.eq_ignore_ascii_case(domain.trim_end_matches('.')) {
        return None;
    }
    let slug = local.split('+').next().unwrap_or("").to_lowercase();
    (!slug.is_empty()).then_some(slug)
}
