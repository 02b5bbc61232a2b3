//! Article bodies: Markdown in, sanitised HTML and plain text out.

use pulldown_cmark::{html, Event, Options, Parser};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// HTML safe to put in a page: whatever the Markdown held (raw HTML,
/// `javascript:` links), only harmless markup survives.
pub fn to_html(md: &str) -> String {
    let mut out = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(md, options()));
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener nofollow"));
    // Nested deeper than any article needs (a wall of `>` quotes, raw
    // `<div>`s): shown as its plain words instead of rendered.
    crate::sanitize::clean(&b, &out).unwrap_or_else(|_| format!("<p>{}</p>", crate::sanitize::escape(&to_text(md))))
}

/// The words of the article, for the search index and snippets.
pub fn to_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    for e in Parser::new_ext(md, options()) {
        match e {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => out.push(' '),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn deep_nesting_is_shown_as_text() {
        let md = format!("{}deep words", "> ".repeat(30_000));
        let html = super::to_html(&md);
        assert_eq!(html, "<p>deep words</p>");
        let raw = format!("{}<b>x</b>{}", "<div>".repeat(5_000), "</div>".repeat(5_000));
        assert!(!super::to_html(&raw).contains("<div>"));
        // Ordinary nesting renders.
        assert!(super::to_html("> quoted\n>> twice").contains("<blockquote>"));
    }

    #[test]
    fn html_is_sanitised_and_text_is_plain() {
        let md = "# Returns\n\nSend it back **within 14 days**. <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>";
        let html = super::to_html(md);
        assert!(
            html.contains("<h1>Returns</h1>") && html.contains("<strong>within 14 days</strong>"),
            "{html}"
        );
        assert!(
            !html.contains("<script") && !html.contains("javascript:") && !html.contains("onerror"),
            "{html}"
        );
        assert_eq!(
            super::to_text("# Returns\n\nSend it **back**."),
            "Returns Send it back ."
        );
    }
}
