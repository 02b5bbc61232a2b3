//! Customer data made readable for agents: the store's page context as
//! labelled fields, a user-agent string as "Chrome 131 on Windows".

use serde_json::Value;

const FIELDS_MAX: usize = 24;
const VALUE_MAX: usize = 200;

/// `{"product": {"name": "Tee", "price": 19.9}, "cart": {"items": [..], "total": 79.8}}`
/// as ("Product name", "Tee"), ("Product price", "19.9"), ("Cart items", "3"), ...
pub fn context_fields(context: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(top) = context.as_object() else {
        return out;
    };
    for (k, v) in top {
        match v {
            Value::Object(inner) => {
                for (k2, v2) in inner {
                    out.push((format!("{} {}", label(k), label(k2).to_lowercase()), text(v2)));
                }
            }
            v => out.push((label(k), text(v))),
        }
        if out.len() >= FIELDS_MAX {
            break;
        }
    }
    out.truncate(FIELDS_MAX);
    out
}

/// `cart_total` → "Cart total".
fn label(key: &str) -> String {
    let words = key.replace(['_', '-'], " ");
    let mut c = words.trim().chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn text(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => n.to_string(),
        // A list of things with names (cart lines) reads as their names.
        Value::Array(items) => {
            let names: Vec<String> = items
                .iter()
                .filter_map(|i| {
                    i.get("name")
                        .or_else(|| i.get("title"))
                        .and_then(|n| n.as_str())
                        .map(str::to_string)
                })
                .collect();
            if names.len() == items.len() && !names.is_empty() {
                names.join(", ")
            } else {
                items.len().to_string()
            }
        }
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{}: {}", label(k).to_lowercase(), text(v)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    s.chars().take(VALUE_MAX).collect()
}

/// The browser and system a user-agent string names, for people; the raw
/// string when it names neither.
pub fn browser(ua: &str) -> String {
    let version = |token: &str| {
        ua.split(token)
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .filter(|v| !v.is_empty())
            .map(|v| format!(" {v}"))
            .unwrap_or_default()
    };
    let name = if ua.contains("Edg/") {
        Some(format!("Edge{}", version("Edg/")))
    } else if ua.contains("OPR/") {
        Some(format!("Opera{}", version("OPR/")))
    } else if ua.contains("YaBrowser/") {
        Some(format!("Yandex Browser{}", version("YaBrowser/")))
    } else if ua.contains("Firefox/") {
        Some(format!("Firefox{}", version("Firefox/")))
    } else if ua.contains("Chrome/") {
        Some(format!("Chrome{}", version("Chrome/")))
    } else if ua.contains("Safari/") && ua.contains("Version/") {
        Some(format!("Safari{}", version("Version/")))
    } else {
        None
    };
    let os = if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("CrOS") {
        Some("ChromeOS")
    } else if ua.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match (name, os) {
        (Some(n), Some(o)) => format!("{n} on {o}"),
        (Some(n), None) => n,
        (None, Some(o)) => o.to_string(),
        (None, None) => ua.chars().take(VALUE_MAX).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_read_as_name_version_and_system() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge 131 on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari 17 on iOS"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 on macOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome 131 on Android"),
            ("curl/8.5.0", "curl/8.5.0"),
        ];
        for (ua, want) in cases {
            assert_eq!(browser(ua), want, "{ua}");
        }
    }

    #[test]
    fn context_reads_as_labelled_fields() {
        let c = serde_json::json!({
            "product": { "name": "Linen shirt", "price": 49.5, "sku": "LS-1" },
            "cart": { "total": 79.8, "currency": "EUR", "items": [{ "name": "Linen shirt" }, { "name": "Belt" }] },
            "logged_in": true
        });
        let f = context_fields(&c);
        assert!(f.contains(&("Product name".into(), "Linen shirt".into())), "{f:?}");
        assert!(f.contains(&("Cart items".into(), "Linen shirt, Belt".into())), "{f:?}");
        assert!(f.contains(&("Cart total".into(), "79.8".into())), "{f:?}");
        assert!(f.contains(&("Logged in".into(), "yes".into())), "{f:?}");
        assert!(context_fields(&serde_json::json!("not an object")).is_empty());
        let many: serde_json::Map<String, Value> = (0..100).map(|i| (format!("k{i}"), Value::from(i))).collect();
        assert_eq!(context_fields(&Value::Object(many)).len(), FIELDS_MAX);
    }
}
