//! Highlighted snippets of article bodies.
//!
//! Our own rather than tantivy's SnippetGenerator: the body is stored once in
//! a language-neutral field while its terms live in per-language fields, and
//! fuzzy expansions need highlighting too. We re-analyse the body with its
//! language's analyzer (which keeps offsets into the original text), mark the
//! words whose terms the query used, and cut a window around the densest spot.

use std::collections::HashSet;

use super::analysis::{self, Lang};

/// Snippet length in characters, roughly two lines of a search dropdown.
const WINDOW_CHARS: usize = 160;
/// How far before the first match the window may start, for context.
const LEAD_CHARS: usize = 30;

/// An HTML snippet of `body`: text escaped, words matching `terms` wrapped in
/// `<mark>`. Without matches it is the start of the body.
pub fn make(body: &str, lang: Lang, terms: &HashSet<String>) -> String {
    let mut matches: Vec<(usize, usize, String)> = if terms.is_empty() {
        Vec::new()
    } else {
        analysis::analyze(&mut analysis::analyzer(lang), body)
            .into_iter()
            .filter(|t| terms.contains(&t.text))
            .map(|t| (t.offset_from, t.offset_to, t.text))
            .collect()
    };
    // Persian compounds also yield their parts, which overlap the compound:
    // keep the widest match at each spot.
    matches.sort_by_key(|(from, to, _)| (*from, std::cmp::Reverse(*to)));
    let mut last_end = 0;
    matches.retain(|(from, to, _)| {
        let keep = *from >= last_end;
        if keep {
            last_end = *to;
        }
        keep
    });
    let (start, end) = window(body, &matches);
    let mut out = String::with_capacity(end - start + 64);
    if start > 0 {
        out.push('…');
    }
    let mut pos = start;
    for (from, to, _) in matches.iter().filter(|(from, to, _)| *from >= start && *to <= end) {
        crate::sanitize::escape_into(&body[pos..*from], &mut out);
        out.push_str("<mark>");
        crate::sanitize::escape_into(&body[*from..*to], &mut out);
        out.push_str("</mark>");
        pos = *to;
    }
    crate::sanitize::escape_into(&body[pos..end], &mut out);
    if end < body.len() {
        out.push('…');
    }
    out
}

/// Byte range of the window: the one holding the most distinct matched terms
/// (earliest on ties), widened to word boundaries.
fn window(body: &str, matches: &[(usize, usize, String)]) -> (usize, usize) {
    if forward(body, 0, WINDOW_CHARS) == body.len() {
        return (0, body.len());
    }
    let mut best_anchor = 0;
    let mut best_count = 0;
    for (i, (from, _, _)) in matches.iter().enumerate() {
        let limit = forward(body, *from, WINDOW_CHARS - LEAD_CHARS);
        let distinct: HashSet<&str> = matches[i..]
            .iter()
            .take_while(|(_, to, _)| *to <= limit)
            .map(|(_, _, t)| t.as_str())
            .collect();
        if distinct.len() > best_count {
            best_count = distinct.len();
            best_anchor = *from;
        }
    }
    let mut start = backward(body, best_anchor, LEAD_CHARS);
    if start > 0 {
        // Start at a word: skip the partial word the lead cut into.
        start = body[start..best_anchor]
            .find(char::is_whitespace)
            .map_or(best_anchor, |i| start + i + 1);
    }
    if best_count == 0 {
        start = 0;
    }
    let mut end = forward(body, start, WINDOW_CHARS);
    if end < body.len() {
        if let Some(i) = body[start..end].rfind(char::is_whitespace) {
            if i > 0 {
                end = start + i;
            }
        }
    }
    (start, end)
}

/// Byte offset `n` characters after `from` (or the end).
fn forward(s: &str, from: usize, n: usize) -> usize {
    s[from..].char_indices().nth(n).map_or(s.len(), |(i, _)| from + i)
}

/// Byte offset `n` characters before `to` (or the start).
fn backward(s: &str, to: usize, n: usize) -> usize {
    s[..to]
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(words: &[&str]) -> HashSet<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn search_snippet_escapes_and_marks() {
        let s = make(
            "Use <script>alert(1)</script> & refunds \"now\"",
            Lang::En,
            &set(&["refund"]),
        );
        assert_eq!(
            s,
            "Use &lt;script&gt;alert(1)&lt;/script&gt; &amp; <mark>refunds</mark> &quot;now&quot;"
        );
    }

    #[test]
    fn search_snippet_windows_long_text() {
        let body = format!(
            "{} Возврат денег занимает до пяти дней. {}",
            "слово ".repeat(100),
            "текст ".repeat(100)
        );
        let s = make(&body, Lang::Ru, &set(&["возврат", "денег"]));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>Возврат</mark> <mark>денег</mark>"), "{s}");
        assert!(s.chars().count() < WINDOW_CHARS + 40, "{s}");
        let plain = make(&body, Lang::Ru, &set(&[]));
        assert!(plain.starts_with("слово") && !plain.contains("<mark>"));
    }
}
