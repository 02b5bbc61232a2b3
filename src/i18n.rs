//! Interface texts in en, ru, uk and fa, from the Fluent files under
//! `locales/`, compiled into the binary.

use std::collections::HashMap;
use std::sync::OnceLock;

use fluent_bundle::{FluentBundle, FluentResource};

pub const LANGS: [&str; 4] = ["en", "ru", "uk", "fa"];

const FILES: [(&str, &str); 4] = [
    ("en", include_str!("../locales/en/widget.ftl")),
    ("ru", include_str!("../locales/ru/widget.ftl")),
    ("uk", include_str!("../locales/uk/widget.ftl")),
    ("fa", include_str!("../locales/fa/widget.ftl")),
];

/// The supported language for a tag such as `ru-RU`, else English.
pub fn pick(tag: Option<&str>) -> &'static str {
    let primary = tag.unwrap_or("").split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    LANGS.iter().find(|l| **l == primary).copied().unwrap_or("en")
}

pub fn dir(lang: &str) -> &'static str {
    if lang == "fa" {
        "rtl"
    } else {
        "ltr"
    }
}

fn load(lang: &str, src: &str) -> HashMap<String, String> {
    let res = match FluentResource::try_new(src.to_string()) {
        Ok(r) => r,
        Err((r, errors)) => {
            tracing::warn!(lang, ?errors, "Fluent file has errors; using what parsed");
            r
        }
    };
    let ids: Vec<String> = res.entries().filter_map(|e| if let fluent_syntax::ast::Entry::Message(m) = e { Some(m.id.name.to_string()) } else { None }).collect();
    let langid: unic_langid::LanguageIdentifier = lang.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new(vec![langid]);
    // Isolation marks would end up inside JSON strings shown as plain text.
    bundle.set_use_isolating(false);
    let _ = bundle.add_resource(res);
    ids.into_iter()
        .filter_map(|id| {
            let pattern = bundle.get_message(&id)?.value()?;
            let mut errors = vec![];
            Some((id.clone(), bundle.format_pattern(pattern, None, &mut errors).into_owned()))
        })
        .collect()
}

fn all() -> &'static HashMap<&'static str, HashMap<String, String>> {
    static ALL: OnceLock<HashMap<&'static str, HashMap<String, String>>> = OnceLock::new();
    ALL.get_or_init(|| FILES.iter().map(|(l, src)| (*l, load(l, src))).collect())
}

/// Every message whose id starts with `prefix`, keyed without it, in
/// `lang` with English for any the language lacks.
pub fn group(lang: &str, prefix: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for l in ["en", lang] {
        if let Some(m) = all().get(l) {
            for (k, v) in m {
                if let Some(short) = k.strip_prefix(prefix) {
                    out.insert(short.to_string(), serde_json::Value::String(v.clone()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn picks_and_falls_back() {
        assert_eq!(super::pick(Some("ru-RU")), "ru");
        assert_eq!(super::pick(Some("FA")), "fa");
        assert_eq!(super::pick(Some("de")), "en");
        assert_eq!(super::pick(None), "en");
        assert_eq!(super::dir("fa"), "rtl");
        let fa = super::group("fa", "widget-");
        assert!(fa.contains_key("title"));
        for l in super::LANGS {
            assert_eq!(super::group(l, "widget-").len(), super::group("en", "widget-").len(), "{l} has every key");
        }
    }
}
