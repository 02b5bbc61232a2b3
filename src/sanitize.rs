//! HTML from outside (a customer's mail, an article's Markdown) made safe
//! to show, within a budget. html5ever's tree builder walks the stack of
//! open elements for every end tag, so its cost grows with the square of the
//! nesting depth: 200,000 nested `<div>`s took two minutes of CPU. Before
//! anything is built, a linear pass over html5ever's own tokenizer
//! estimates the depth the tree would reach; past the budget the HTML is
//! not rendered at all and the caller shows the plain text instead.

use std::cell::RefCell;

use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};
use html5ever::TokenizerResult;

/// Deeper than any real mail or article (Outlook's nested layout tables
/// reach a few dozen levels), shallow enough that building the tree stays
/// linear in practice.
pub const MAX_DEPTH: usize = 256;
/// More HTML than this is not rendered, however flat.
pub const MAX_HTML: usize = 2 << 20;

/// Why HTML was not rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverBudget {
    TooLarge,
    TooDeep,
}

/// Sanitises `html` with `builder` when it is within budget.
pub fn clean(builder: &ammonia::Builder<'_>, html: &str) -> Result<String, OverBudget> {
    if html.len() > MAX_HTML {
        return Err(OverBudget::TooLarge);
    }
    if depth_over(html, MAX_DEPTH) {
        return Err(OverBudget::TooDeep);
    }
    Ok(builder.clean(html).to_string())
}

/// Whether a parser would nest elements deeper than `max`. Errs on the
/// high side: elements whose end tag is optional (`p`, `li`, `td`...) or
/// void are not counted, since the parser closes them by itself, but an
/// end tag that closes nothing is ignored as the parser ignores it, and a
/// formatting element (`<b>`, `<font>`...) counts until its own end tag,
/// because the parser reopens it inside later blocks.
pub fn depth_over(html: &str, max: usize) -> bool {
    let sink = DepthSink {
        max,
        state: RefCell::new(Depth::default()),
    };
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(html.into());
    // The sink answers `Script` to stop the tokenizer once over budget.
    let stopped = matches!(tok.feed(&input), TokenizerResult::Script(()));
    if !stopped {
        tok.end();
    }
    let over = tok.sink.state.borrow().over;
    over
}

#[derive(Default)]
struct Depth {
    open: Vec<html5ever::LocalName>,
    /// Formatting elements closed by some other element's end tag: the
    /// parser reconstructs them at the next text.
    lingering: usize,
    over: bool,
}

struct DepthSink {
    max: usize,
    state: RefCell<Depth>,
}

fn is_formatting(name: &str) -> bool {
    matches!(
        name,
        "a" | "b" | "big" | "code" | "em" | "font" | "i" | "nobr" | "s" | "small" | "strike" | "strong" | "tt" | "u"
    )
}

/// Elements the parser never nests in themselves or that have no content.
fn uncounted(name: &str) -> bool {
    matches!(
        name,
        "html" | "head" | "body" | "p" | "li" | "dt" | "dd" | "option" | "optgroup" | "tr" | "td" | "th"
            | "tbody" | "thead" | "tfoot" | "colgroup" | "caption" | "rb" | "rt" | "rtc" | "rp"
            // void
            | "area" | "base" | "br" | "col" | "embed" | "hr" | "img" | "input" | "keygen" | "link" | "meta"
            | "param" | "source" | "track" | "wbr" | "frame" | "basefont" | "bgsound" | "image"
    )
}

impl TokenSink for DepthSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let Token::TagToken(Tag { kind, name, .. }) = token else {
            return TokenSinkResult::Continue;
        };
        let mut s = self.state.borrow_mut();
        match kind {
            TagKind::StartTag => {
                if !uncounted(&name) {
                    s.open.push(name.clone());
                }
                if s.open.len() + s.lingering > self.max {
                    s.over = true;
                    return TokenSinkResult::Script(());
                }
                // Without these the tokenizer would read a script's or a
                // textarea's text as tags, as the tree builder never does.
                match &*name {
                    "script" => TokenSinkResult::RawData(RawKind::ScriptData),
                    "style" | "xmp" | "iframe" | "noembed" | "noframes" => TokenSinkResult::RawData(RawKind::Rawtext),
                    "textarea" | "title" => TokenSinkResult::RawData(RawKind::Rcdata),
                    "plaintext" => TokenSinkResult::Plaintext,
                    _ => TokenSinkResult::Continue,
                }
            }
            TagKind::EndTag => {
                if let Some(at) = s.open.iter().rposition(|n| *n == name) {
                    let closed = s.open.split_off(at);
                    let formatting = closed[1..].iter().filter(|n| is_formatting(n)).count();
                    s.lingering += formatting;
                } else if is_formatting(&name) && s.lingering > 0 {
                    s.lingering -= 1;
                }
                TokenSinkResult::Continue
            }
        }
    }
}

/// `link` when it is an http(s) URL, the only kind made into a link from
/// customer data (never `javascript:`, `data:` or relative paths).
pub fn web_link(link: &str) -> Option<&str> {
    let l = link.trim();
    let scheme_ok = ["http://", "https://"]
        .iter()
        .any(|p| l.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)));
    (scheme_ok && l.len() > 8 && !l.chars().any(|c| c.is_control() || c.is_whitespace())).then_some(l)
}

/// Senders put paths, control characters and empty names in file names;
/// whoever stores the file should get a bare, printable name.
pub fn file_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control() && *c != '"').collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    (!cleaned.is_empty()).then(|| cleaned.chars().take(200).collect())
}

/// Text made safe to put in HTML, as content or in a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    escape_into(text, &mut out);
    out
}

pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::depth_over;

    #[test]
    fn only_web_links() {
        use super::web_link;
        assert_eq!(web_link(" https://shop.test/cart "), Some("https://shop.test/cart"));
        assert_eq!(web_link("HTTP://shop.test"), Some("HTTP://shop.test"));
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "/cart",
            "http://",
            "\u{1}javascript:x",
            "https://a b",
        ] {
            assert_eq!(web_link(bad), None, "{bad}");
        }
    }

    #[test]
    fn depth_is_estimated_from_the_side_of_caution() {
        let nested =
            |tag: &str, n: usize| format!("{}x{}", format!("<{tag}>").repeat(n), format!("</{tag}>").repeat(n));
        assert!(!depth_over(&nested("div", 200), 256));
        assert!(depth_over(&nested("div", 300), 256));
        // Flat documents of any length are fine, so are unclosed paragraphs.
        assert!(!depth_over(&"<div>a</div><p>b<br>".repeat(10_000), 256));
        // End tags that close nothing do not hide depth.
        assert!(depth_over(&"<div></span>".repeat(300), 256));
        // Nor do tags inside a script or a comment.
        assert!(depth_over(&"<div><script></div></script>".repeat(300), 256));
        assert!(depth_over(&"<div><!-- </div> -->".repeat(300), 256));
        // Formatting elements the parser would reopen count too.
        assert!(depth_over(
            &(0..300).map(|i| format!("<div><b id={i}></div>")).collect::<String>(),
            256
        ));
        // ... until their own end tag.
        assert!(!depth_over(&"<div><b></div></b>".repeat(300), 256));
        // Self-closing syntax does not close a div in HTML.
        assert!(depth_over(&"<div/>".repeat(300), 256));
    }
}
