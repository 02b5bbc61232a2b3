//! Cutting the quoted history and the signature off a reply, so an agent sees
//! what the customer just wrote, and the reply/forward prefixes off a subject.
//! Every rule errs on keeping text: a wrong cut loses the customer's words, a
//! missed cut only shows some extra history.

/// `text` without quoted history and signature, or `text` itself when no cut
/// is safe.
pub(super) fn visible(text: &str, forward: bool) -> String {
    if text.trim().is_empty() {
        return text.to_string();
    }
    let lines: Vec<&str> = text.lines().collect();
    if forward || lines.iter().any(|l| is_forward_marker(l)) {
        return text.to_string();
    }

    let mut kept: Vec<&str> = match find_history(&lines) {
        Some((start, _)) if !is_blank(&lines[..start]) => lines[..start].to_vec(),
        // Bottom-posting: the attribution and the quote come first, the
        // answer after; drop just that leading quote.
        Some((_, Some(end))) => {
            let mut rest = end + 1;
            while rest < lines.len() && (is_quote(lines[rest]) || lines[rest].trim().is_empty()) {
                rest += 1;
            }
            lines[rest..].to_vec()
        }
        _ => lines.clone(),
    };

    while kept.last().is_some_and(|l| is_quote(l) || l.trim().is_empty()) {
        kept.pop();
    }
    if let Some(sig) = kept.iter().position(|l| l.trim_end_matches('\r') == "-- ") {
        if !is_blank(&kept[..sig]) {
            kept.truncate(sig);
        }
    }

    let result = kept.join("\n");
    let result = result.trim_end().trim_start_matches('\n');
    if result.trim().is_empty() {
        text.to_string()
    } else {
        result.to_string()
    }
}

fn is_blank(lines: &[&str]) -> bool {
    lines.iter().all(|l| l.trim().is_empty())
}

fn is_quote(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// Bidi marks wrap Persian and Hebrew attribution lines in some clients.
fn clean(line: &str) -> &str {
    line.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

fn is_forward_marker(line: &str) -> bool {
    let l = clean(line).to_lowercase();
    [
        "forwarded message",
        "begin forwarded message",
        "пересылаемое сообщение",
        "пересланное сообщение",
        "переслане повідомлення",
        "پیام هدایت شده",
        "پیام ارسال شده",
    ]
    .iter()
    .any(|m| l.contains(m) && (l.starts_with('-') || l.ends_with(':') || l.ends_with('-')))
}

/// Where the quoted history starts, and the last line of its attribution when
/// it has one (so the quote right after it can be removed on its own).
fn find_history(lines: &[&str]) -> Option<(usize, Option<usize>)> {
    for i in 0..lines.len() {
        if is_quote(lines[i]) {
            continue;
        }
        if let Some(start) = attribution_start(lines, i) {
            return Some((start, Some(i)));
        }
        if is_original_separator(lines[i]) {
            return Some((i, None));
        }
        if is_outlook_header(lines, i) {
            let mut start = i;
            let mut prev = i;
            while prev > 0 && lines[prev - 1].trim().is_empty() {
                prev -= 1;
            }
            if prev > 0 && is_rule(lines[prev - 1]) {
                start = prev - 1;
            }
            return Some((start, None));
        }
    }
    None
}

const ATTRIBUTION_ENDINGS: &[&str] = &[
    "wrote:",
    "написал(а):",
    "написала:",
    "написал:",
    "пишет:",
    "написав(ла):",
    "написав:",
    "نوشت:",
    "schrieb:",
    "a écrit :",
    "a écrit:",
    "escribió:",
];

fn attribution_start(lines: &[&str], i: usize) -> Option<usize> {
    let line = clean(lines[i]);
    if line.is_empty() || line.chars().count() > 300 {
        return None;
    }
    let lower = line.to_lowercase();
    let next_is_quote = lines[i + 1..]
        .iter()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| is_quote(l));
    let prev_starts_on = i > 0 && clean(lines[i - 1]).starts_with("On ");

    if lower.ends_with("wrote:") {
        if line.starts_with("On ") {
            return Some(i);
        }
        // Gmail wraps long attributions: "On Mon, ... Ann <\n ann@x> wrote:".
        if prev_starts_on {
            return Some(i - 1);
        }
        return next_is_quote.then_some(i);
    }
    if ATTRIBUTION_ENDINGS.iter().any(|e| lower.ends_with(e)) {
        return Some(i);
    }
    // Gmail in other locales drops the verb: "пн, 3 июн. 2024 г. в 10:15, Ann <ann@x>:".
    if next_is_quote && line.ends_with(':') && (line.contains('@') || line.chars().any(|c| c.is_ascii_digit())) {
        return Some(i);
    }
    None
}

fn is_original_separator(line: &str) -> bool {
    let l = clean(line);
    if !l.starts_with("---") {
        return false;
    }
    let inner = l.trim_matches(|c: char| c == '-' || c.is_whitespace()).to_lowercase();
    [
        "original message",
        "исходное сообщение",
        "оригинальное сообщение",
        "оригінальне повідомлення",
        "вихідне повідомлення",
        "پیام اصلی",
        "ursprüngliche nachricht",
        "message d'origine",
    ]
    .contains(&inner.as_str())
}

fn is_rule(line: &str) -> bool {
    let l = line.trim();
    l.chars().count() >= 10 && l.chars().all(|c| c == '_' || c == '-' || c == '—')
}

fn field_name(line: &str) -> Option<String> {
    let l = clean(line);
    let (name, _) = l.split_once(':')?;
    (name.chars().count() <= 20).then(|| name.trim().trim_matches('*').to_lowercase())
}

/// The header block Outlook puts above the quoted mail instead of an
/// attribution line: `From:` then, within a few lines, `Sent:` and `To:`/`Subject:`.
fn is_outlook_header(lines: &[&str], i: usize) -> bool {
    const FROM: &[&str] = &["from", "от", "від", "از", "von", "de"];
    const SENT: &[&str] = &[
        "sent",
        "date",
        "отправлено",
        "дата",
        "надіслано",
        "ارسال شده",
        "تاریخ",
        "gesendet",
        "envoyé",
    ];
    const SUBJECT: &[&str] = &[
        "subject",
        "to",
        "тема",
        "кому",
        "موضوع",
        "به",
        "betreff",
        "an",
        "objet",
        "à",
    ];
    if !field_name(lines[i]).is_some_and(|n| FROM.contains(&n.as_str())) {
        return false;
    }
    let next: Vec<String> = lines[i + 1..].iter().take(6).filter_map(|l| field_name(l)).collect();
    next.iter().any(|n| SENT.contains(&n.as_str())) && next.iter().any(|n| SUBJECT.contains(&n.as_str()))
}

/// `[#123]` anywhere in a subject → 123.
pub fn ticket_ref(subject: &str) -> Option<i64> {
    ticket_refs(subject).next().map(|(_, _, n)| n)
}

/// Every well-formed `[#N]` as (byte start, byte end, N).
fn ticket_refs(subject: &str) -> impl Iterator<Item = (usize, usize, i64)> + '_ {
    subject.match_indices("[#").filter_map(move |(start, _)| {
        let rest = &subject[start + 2..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || !rest[digits..].starts_with(']') {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok().filter(|n| *n > 0)?;
        Some((start, start + 2 + digits + 1, n))
    })
}

const REPLY_PREFIXES: &[&str] = &[
    "re",
    "aw",
    "antw",
    "antwort",
    "sv",
    "vs",
    "odp",
    "res",
    "ynt",
    "رد",
    "отв",
    "ответ",
    "від",
    "відп",
    "відповідь",
    "پاسخ",
    "جواب",
    "automatic reply",
    "autoreply",
    "автоответ",
    "out of office",
];
const FORWARD_PREFIXES: &[&str] = &[
    "fw",
    "fwd",
    "wg",
    "tr",
    "rv",
    "enc",
    "пересл",
    "переслано",
    "пер",
    "ارسال",
    "هدایت",
];

/// Subject without reply/forward prefixes (Re:, RE:, Fwd:, FW:, Aw:, Отв:, Ответ:, Re[2]:, پاسخ:, ...) repeated, and without `[#N]`.
pub fn clean_subject(subject: &str) -> String {
    let mut without_refs = String::with_capacity(subject.len());
    let mut last = 0;
    for (start, end, _) in ticket_refs(subject) {
        without_refs.push_str(&subject[last..start]);
        without_refs.push(' ');
        last = end;
    }
    without_refs.push_str(&subject[last..]);

    let mut rest = without_refs.as_str();
    while let Some((after, _)) = strip_prefix(rest) {
        rest = after;
    }
    rest.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Forwarded mail carries its history as the point of the message, so its
/// quoted part must not be cut away.
pub(super) fn is_forward(subject: &str) -> bool {
    matches!(strip_prefix(subject), Some((_, true)))
}

/// One leading prefix: (the rest, whether it was a forward prefix).
fn strip_prefix(s: &str) -> Option<(&str, bool)> {
    let s = s.trim_start();
    let (idx, colon) = s.char_indices().take(24).find(|(_, c)| *c == ':' || *c == '：')?;
    let word = strip_counter(s[..idx].trim()).to_lowercase();
    let rest = &s[idx + colon.len_utf8()..];
    if REPLY_PREFIXES.contains(&word.as_str()) {
        Some((rest, false))
    } else if FORWARD_PREFIXES.contains(&word.as_str()) {
        Some((rest, true))
    } else {
        None
    }
}

/// `Re[2]`, `Re(2)`, `Re^2`, `Re*2` → `Re`.
fn strip_counter(word: &str) -> &str {
    let digits_end = |w: &str| w.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(inner) = word.strip_suffix(close) {
            let cut = digits_end(inner);
            if cut < inner.len() && inner[..cut].ends_with(open) {
                return inner[..cut - 1].trim_end();
            }
        }
    }
    let cut = digits_end(word);
    if cut < word.len() && (word[..cut].ends_with('^') || word[..cut].ends_with('*')) {
        return word[..cut - 1].trim_end();
    }
    word
}

#[cfg(test)]
mod tests {
    use super::{clean_subject, ticket_ref, visible};

    #[test]
    fn email_quotes_top_posted_reply_is_cut_at_attribution() {
        let t = "Thanks, got it.\n\nOn Mon, 3 Jun 2024 at 10:15, Acme <a@acme.test> wrote:\n> Your order shipped.";
        assert_eq!(visible(t, false), "Thanks, got it.");
    }

    #[test]
    fn email_quotes_wrapped_gmail_attribution() {
        let t = "Yes please.\n\nOn Mon, 3 Jun 2024 at 10:15, Acme Support <\nsupport@acme.test> wrote:\n\n> Shall we refund?";
        assert_eq!(visible(t, false), "Yes please.");
    }

    #[test]
    fn email_quotes_ukrainian_and_russian_attributions() {
        let t = "Дякую!\n\n3 червня 2024 р. о 10:15 Acme <a@acme.test> написав:\n> Замовлення відправлено.";
        assert_eq!(visible(t, false), "Дякую!");
        let t = "Спасибо.\n\nпн, 3 июн. 2024 г. в 10:15, Acme <a@acme.test>:\n> Заказ отправлен.";
        assert_eq!(visible(t, false), "Спасибо.");
    }

    #[test]
    fn email_quotes_signature_and_trailing_quotes() {
        let t = "See attached.\n\n-- \nAnn Smith\nShop Inc.\n";
        assert_eq!(visible(t, false), "See attached.");
        let t = "> old question\nmy answer\n> trailing\n>\n";
        assert_eq!(visible(t, false), "> old question\nmy answer");
    }

    #[test]
    fn email_quotes_never_empty() {
        let t = "-- \nonly a signature";
        assert_eq!(visible(t, false), t);
        let t = "> only\n> quotes";
        assert_eq!(visible(t, false), t);
        let t = "On Mon, 3 Jun 2024, Ann wrote:\n> only the quote";
        assert_eq!(visible(t, false), t);
    }

    #[test]
    fn email_quotes_forward_keeps_everything() {
        let t = "FYI\n\n-----Original Message-----\nFrom: a@b\nthe content";
        assert_eq!(visible(t, true), t);
        assert_eq!(visible(t, false), "FYI");
    }

    #[test]
    fn email_quotes_plain_prose_is_untouched() {
        let t = "From: the docs I read, this should work.\nMy friend wrote: nothing.\nDate: tomorrow";
        assert_eq!(visible(t, false), t);
    }

    #[test]
    fn email_ticket_ref() {
        assert_eq!(ticket_ref("Re: [#123] Where is my order?"), Some(123));
        assert_eq!(ticket_ref("Where is my order? [#7]"), Some(7));
        assert_eq!(ticket_ref("[#x] [#12]"), Some(12));
        assert_eq!(ticket_ref("Order #123"), None);
        assert_eq!(ticket_ref("[#]"), None);
        assert_eq!(ticket_ref("[#0]"), None);
        assert_eq!(ticket_ref("[#99999999999999999999]"), None);
        assert_eq!(ticket_ref("[#12"), None);
        assert_eq!(ticket_ref(""), None);
    }

    #[test]
    fn email_clean_subject_languages() {
        let cases = [
            ("Re: Where is my order?", "Where is my order?"),
            ("RE: RE: Fwd: FW: Where is my order?", "Where is my order?"),
            ("Re[2]: Re(3): Re^4: Refund", "Refund"),
            ("Aw: WG: Rücksendung", "Rücksendung"),
            ("Re: [#123] Where is my order?", "Where is my order?"),
            ("[#123] Re: Where is my order?", "Where is my order?"),
            ("Where  is [#5]  my order?", "Where is my order?"),
            ("Отв: Ответ: Заказ не пришёл", "Заказ не пришёл"),
            ("ОТВ: Re: Заказ", "Заказ"),
            ("Відп: Замовлення", "Замовлення"),
            ("پاسخ: سفارش من کجاست؟", "سفارش من کجاست؟"),
            ("SV: VS: Tilaus", "Tilaus"),
            ("Automatic reply: [#42] Where is my order?", "Where is my order?"),
            ("Order: 1042 missing", "Order: 1042 missing"),
            ("Re:", ""),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(clean_subject(input), want, "{input:?}");
        }
    }
}
