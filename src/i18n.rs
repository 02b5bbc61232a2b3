//! Texts in en, ru, uk and fa, from the Fluent files under `locales/`,
//! compiled into the binary.

use std::collections::HashMap;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

pub const LANGS: [&str; 4] = ["en", "ru", "uk", "fa"];

const FILES: [(&str, &str); 20] = [
    ("en", include_str!("../locales/en/widget.ftl")),
    ("ru", include_str!("../locales/ru/widget.ftl")),
    ("uk", include_str!("../locales/uk/widget.ftl")),
    ("fa", include_str!("../locales/fa/widget.ftl")),
    ("en", include_str!("../locales/en/mail.ftl")),
    ("ru", include_str!("../locales/ru/mail.ftl")),
    ("uk", include_str!("../locales/uk/mail.ftl")),
    ("fa", include_str!("../locales/fa/mail.ftl")),
    ("en", include_str!("../locales/en/portal.ftl")),
    ("ru", include_str!("../locales/ru/portal.ftl")),
    ("uk", include_str!("../locales/uk/portal.ftl")),
    ("fa", include_str!("../locales/fa/portal.ftl")),
    ("en", include_str!("../locales/en/console.ftl")),
    ("ru", include_str!("../locales/ru/console.ftl")),
    ("uk", include_str!("../locales/uk/console.ftl")),
    ("fa", include_str!("../locales/fa/console.ftl")),
    ("en", include_str!("../locales/en/survey.ftl")),
    ("ru", include_str!("../locales/ru/survey.ftl")),
    ("uk", include_str!("../locales/uk/survey.ftl")),
    ("fa", include_str!("../locales/fa/survey.ftl")),
];

/// The supported language for a tag such as `ru-RU`, else English.
pub fn pick(tag: Option<&str>) -> &'static str {
    let primary = tag
        .unwrap_or("")
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    LANGS.iter().find(|l| **l == primary).copied().unwrap_or("en")
}

pub fn dir(lang: &str) -> &'static str {
    if lang == "fa" {
        "rtl"
    } else {
        "ltr"
    }
}

struct Lang {
    bundle: FluentBundle<FluentResource>,
    ids: Vec<String>,
}

fn langs() -> &'static HashMap<&'static str, Lang> {
    static ALL: OnceLock<HashMap<&'static str, Lang>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut out: HashMap<&'static str, Lang> = HashMap::new();
        for (lang, src) in FILES {
            let res = FluentResource::try_new(src.to_string()).unwrap_or_else(|(r, errors)| {
                tracing::warn!(lang, ?errors, "Fluent file has errors; using what parsed");
                r
            });
            let l = out.entry(lang).or_insert_with(|| {
                let mut bundle = FluentBundle::new_concurrent(vec![lang.parse().unwrap_or_default()]);
                // Isolation marks would end up inside JSON strings and mail text.
                bundle.set_use_isolating(false);
                Lang { bundle, ids: vec![] }
            });
            l.ids.extend(res.entries().filter_map(|e| {
                if let fluent_syntax::ast::Entry::Message(m) = e {
                    Some(m.id.name.to_string())
                } else {
                    None
                }
            }));
            let _ = l.bundle.add_resource(res);
        }
        out
    })
}

/// One text in `lang` (English when the language lacks it), with arguments.
pub fn text(lang: &str, id: &str, args: &[(&str, &str)]) -> String {
    let mut fa = FluentArgs::new();
    for (k, v) in args {
        fa.set(*k, *v);
    }
    for l in [lang, "en"] {
        if let Some(lang) = langs().get(l) {
            if let Some(p) = lang.bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = vec![];
                return lang.bundle.format_pattern(p, Some(&fa), &mut errors).into_owned();
            }
        }
    }
    id.to_string()
}

/// Every message whose id starts with `prefix`, keyed without it, in
/// `lang` with English for any the language lacks.
pub fn group(lang: &str, prefix: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    if let Some(en) = langs().get("en") {
        for id in en.ids.iter().filter(|i| i.starts_with(prefix)) {
            out.insert(
                id[prefix.len()..].to_string(),
                serde_json::Value::String(text(lang, id, &[])),
            );
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
        assert_ne!(fa["title"], super::group("en", "widget-")["title"]);
    }

    #[test]
    fn every_language_has_every_text() {
        for l in super::LANGS {
            let lang = &super::langs()[l];
            for id in &super::langs()["en"].ids {
                assert!(lang.ids.contains(id), "{l} lacks {id}");
            }
        }
    }

    #[test]
    fn arguments_are_filled() {
        let t = super::text(
            "ru",
            "mail-confirmation-body",
            &[("name", "Анна"), ("number", "42"), ("subject", "Где заказ?")],
        );
        assert!(
            t.contains("Анна") && t.contains("42") && t.contains("Где заказ?"),
            "{t}"
        );
    }
}
