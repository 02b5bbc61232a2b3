//! Search: a tantivy index of FAQ articles in en/ru/uk/fa (`KbIndex`), and
//! one of tickets and their messages for agents (`TicketIndex`).
//!
//! A pure library: no HTTP, no database. The caller owns the articles and
//! tickets and feeds them in; an index can always be rebuilt from them,
//! which is why an unreadable or outdated on-disk index is simply recreated.

mod analysis;
#[cfg(any(test, feature = "bench"))]
pub(crate) mod fixture;
mod index;
mod schema;
mod snippet;
mod stem;
mod synonyms;
#[cfg(test)]
mod tests;
mod tickets;

pub use analysis::Lang;
pub use index::{KbIndex, Tuning};
pub use synonyms::{Synonyms, MAX_ENTRIES as SYNONYM_MAX_ENTRIES, MAX_ENTRY_CHARS as SYNONYM_MAX_ENTRY_CHARS};

/// The stems of `text` as ticket search analyses it (each word by its
/// alphabet's language), in order. Used where words are matched outside
/// an index (automation rules).
pub fn word_stems(text: &str) -> Vec<String> {
    thread_local! {
        static ANALYZER: std::cell::RefCell<tantivy::tokenizer::TextAnalyzer> =
            std::cell::RefCell::new(analysis::mixed_analyzer());
    }
    ANALYZER.with(|a| {
        analysis::analyze(&mut a.borrow_mut(), text)
            .into_iter()
            .map(|t| t.text)
            .collect()
    })
}
pub use tickets::{MessageDoc, TicketDoc, TicketIndex, Watermark, WeakTicketIndex, MAX_BODY_CHARS};

/// An article as the caller stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct KbDoc {
    pub id: i64,
    pub workspace_id: i64,
    /// en|ru|uk|fa; anything else is analysed as English.
    pub language: String,
    pub title: String,
    /// Plain text, markdown already stripped.
    pub body: String,
    pub tags: Vec<String>,
    /// Other ways shoppers ask for this article.
    pub phrasings: Vec<String>,
    pub url: String,
}

/// One search result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KbHit {
    pub id: i64,
    pub title: String,
    pub url: String,
    /// HTML: text escaped, matches wrapped in `<mark>…</mark>`.
    pub snippet: String,
    pub score: f32,
    pub language: String,
}

/// Longest normalised query kept for analytics, in characters.
const NORMALIZED_MAX_CHARS: usize = 200;

/// The normalised form of a query for analytics: lower-case, folded as the
/// analyzers fold (ё→е, Arabic→Persian letters, joiners dropped), whitespace
/// collapsed, at most 200 characters.
pub fn normalize_query(query: &str) -> String {
    let mut out = String::new();
    let mut folded = String::new();
    for word in query.split_whitespace() {
        folded.clear();
        for c in word.chars() {
            analysis::fold_char(c, &mut folded);
        }
        if folded.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&folded);
        if out.len() >= NORMALIZED_MAX_CHARS * 4 {
            break; // enough to fill 200 chars whatever the script; stop early on huge input
        }
    }
    match out.char_indices().nth(NORMALIZED_MAX_CHARS) {
        Some((cut, _)) => out[..cut].trim_end().to_string(),
        None => out,
    }
}
