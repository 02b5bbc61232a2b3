//! Proactive campaigns, as pure rules: what a campaign is (parsed and
//! bounded once at the edge), whether a visitor is in its audience, which
//! variant (or the holdout) a visitor gets, and whether a difference in
//! conversion between two groups is significant. No I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Invalid;

/// The variant name of the control group: eligible, shown nothing.
pub const HOLDOUT: &str = "holdout";
/// Below this many visitors in a group no difference is called significant.
pub const MIN_SAMPLE: i64 = 30;
const MAX_VARIANTS: usize = 4;
const MAX_TEXT: usize = 1000;
const MAX_LANGS: usize = 20;
const MAX_ATTRS: usize = 20;

/// Who may see a campaign. Every given condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// A page address pattern; `*` matches any run of characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_page_views: Option<i64>,
    /// Seconds since the visitor's first event today-or-ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_seconds_on_site: Option<i64>,
    /// `new` (first seen within the last 30 minutes) or `returning`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<VisitorKind>,
    /// The visitor's language (primary tag), one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Country (region of the browser's language tag), one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// The value of the last `cart_updated` event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_cart_value: Option<f64>,
    /// An event the visitor sent in the last N minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<RecentEvent>,
    /// Contact attributes that must equal these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Value>,
    /// Whether the visitor has told who they are (name or email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identified: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitorKind {
    New,
    Returning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecentEvent {
    pub name: String,
    pub within_minutes: i64,
}

/// What makes the widget show the message, checked in the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    TimeOnPage { seconds: i64 },
    ExitIntent,
    Scroll { percent: i64 },
    Event { name: String },
}

/// One version of the message; visitors are split by `weight`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: String,
    /// Language → text; `en` or the first is the fallback.
    pub message: BTreeMap<String, String>,
    #[serde(default = "one")]
    pub weight: i64,
}

fn one() -> i64 {
    1
}

/// A campaign's rules (everything but its name, state and priority).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    #[serde(default)]
    pub audience: Audience,
    pub trigger: Trigger,
    pub variants: Vec<Variant>,
    /// The agent the message comes from (none: the team).
    #[serde(default)]
    pub from_user_id: Option<i64>,
    /// Share of eligible visitors held out as the control group (0–50).
    #[serde(default)]
    pub holdout_percent: i64,
    /// Shown at most once per visitor in this many days.
    #[serde(default = "cap_default")]
    pub cap_days: i64,
    /// The event that counts as a conversion…
    #[serde(default)]
    pub goal_event: Option<String>,
    /// …within this many hours of being shown.
    #[serde(default = "goal_hours_default")]
    pub goal_hours: i64,
    #[serde(default)]
    pub only_open_hours: bool,
    #[serde(default)]
    pub only_agents_online: bool,
}

fn cap_default() -> i64 {
    30
}

fn goal_hours_default() -> i64 {
    24
}

/// An event name the store may send: `[a-z0-9_.-]`, 1–64 characters.
pub fn check_event_name(field: &'static str, name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            "must be 1 to 64 characters of a-z, 0-9, '_', '.' or '-'",
        ))
    }
}

fn range(field: &'static str, v: i64, lo: i64, hi: i64) -> Result<(), Invalid> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(Invalid::new(field, format!("must be between {lo} and {hi}")))
    }
}

fn lang_tag(field: &'static str, l: &str) -> Result<(), Invalid> {
    if (2..=8).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            format!("'{}' is not a language or country code", clip(l, 20)),
        ))
    }
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl Spec {
    /// Parses and bounds a campaign's rules from the API's JSON.
    pub fn parse(v: &Value) -> Result<Spec, Invalid> {
        let mut s: Spec =
            serde_json::from_value(v.clone()).map_err(|e| Invalid::new("campaign", clip(&e.to_string(), 200)))?;
        s.check()?;
        s.audience
            .languages
            .iter_mut()
            .for_each(|l| *l = l.to_ascii_lowercase());
        s.audience
            .countries
            .iter_mut()
            .for_each(|c| *c = c.to_ascii_uppercase());
        Ok(s)
    }

    fn check(&self) -> Result<(), Invalid> {
        let a = &self.audience;
        if let Some(u) = &a.url {
            if u.is_empty() {
                return Err(Invalid::new("audience.url", "must not be empty"));
            }
            super::optional_text("audience.url", u, 500)?;
        }
        if let Some(n) = a.min_page_views {
            range("audience.min_page_views", n, 0, 10_000)?;
        }
        if let Some(n) = a.min_seconds_on_site {
            range("audience.min_seconds_on_site", n, 0, 86_400)?;
        }
        if a.languages.len() > MAX_LANGS || a.countries.len() > MAX_LANGS {
            return Err(Invalid::new("audience", "at most 20 languages and 20 countries"));
        }
        for l in &a.languages {
            lang_tag("audience.languages", l)?;
        }
        for c in &a.countries {
            lang_tag("audience.countries", c)?;
        }
        if let Some(v) = a.min_cart_value {
            if !(0.0..=1e9).contains(&v) {
                return Err(Invalid::new("audience.min_cart_value", "must be between 0 and 1e9"));
            }
        }
        if let Some(e) = &a.event {
            check_event_name("audience.event.name", &e.name)?;
            range("audience.event.within_minutes", e.within_minutes, 1, 60 * 24 * 30)?;
        }
        if a.attributes.len() > MAX_ATTRS
            || a.attributes
                .iter()
                .any(|(k, v)| k.len() > 64 || v.to_string().len() > 200)
        {
            return Err(Invalid::new(
                "audience.attributes",
                "at most 20 attributes, names up to 64 and values up to 200 characters",
            ));
        }
        match &self.trigger {
            Trigger::TimeOnPage { seconds } => range("trigger.seconds", *seconds, 0, 3600)?,
            Trigger::Scroll { percent } => range("trigger.percent", *percent, 1, 100)?,
            Trigger::Event { name } => check_event_name("trigger.name", name)?,
            Trigger::ExitIntent => {}
        }
        if self.variants.is_empty() || self.variants.len() > MAX_VARIANTS {
            return Err(Invalid::new("variants", "give 1 to 4 variants"));
        }
        for (i, v) in self.variants.iter().enumerate() {
            let n = v.name.trim();
            if n.is_empty() || n.chars().count() > 40 || n == HOLDOUT {
                return Err(Invalid::new(
                    "variants.name",
                    "must be 1 to 40 characters and not 'holdout'",
                ));
            }
            if self.variants[..i].iter().any(|o| o.name == v.name) {
                return Err(Invalid::new("variants.name", "must be different from each other"));
            }
            super::optional_text("variants.name", n, 40)?;
            range("variants.weight", v.weight, 1, 100)?;
            if v.message.is_empty() || v.message.len() > MAX_LANGS {
                return Err(Invalid::new("variants.message", "give the text in 1 to 20 languages"));
            }
            for (l, t) in &v.message {
                lang_tag("variants.message", l)?;
                if t.trim().is_empty() {
                    return Err(Invalid::new(
                        "variants.message",
                        "each text must be 1 to 1000 characters",
                    ));
                }
                super::optional_text("variants.message", t, MAX_TEXT)?;
            }
        }
        range("holdout_percent", self.holdout_percent, 0, 50)?;
        range("cap_days", self.cap_days, 0, 365)?;
        range("goal_hours", self.goal_hours, 1, 24 * 30)?;
        if let Some(g) = &self.goal_event {
            check_event_name("goal_event", g)?;
        }
        Ok(())
    }

    /// Variant `name`'s text in `lang`, else English, else its first.
    pub fn text(&self, variant: &str, lang: &str) -> Option<&str> {
        let v = self.variants.iter().find(|v| v.name == variant)?;
        v.message
            .get(lang)
            .or_else(|| v.message.get("en"))
            .or_else(|| v.message.values().next())
            .map(String::as_str)
    }
}

/// What the server knows of a visitor when a page is viewed.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub url: String,
    pub page_views: i64,
    /// When the visitor was first seen (ms).
    pub first_seen: i64,
    pub lang: String,
    /// Region of the browser's language tag (`de-AT` → `AT`), upper case.
    pub country: Option<String>,
    pub cart_value: Option<f64>,
    /// Event names with the time each was last sent (ms).
    pub recent: Vec<(String, i64)>,
    pub attributes: serde_json::Map<String, Value>,
    pub identified: bool,
}

/// Returning: first seen more than this long ago.
const NEW_FOR_MS: i64 = 30 * 60 * 1000;

impl Audience {
    pub fn matches(&self, f: &Facts, now: i64) -> bool {
        let ok_url = self.url.as_deref().is_none_or(|p| glob(p, &f.url));
        let ok_views = self.min_page_views.is_none_or(|n| f.page_views >= n);
        let ok_time = self.min_seconds_on_site.is_none_or(|s| now - f.first_seen >= s * 1000);
        let returning = now - f.first_seen > NEW_FOR_MS;
        let ok_kind = match self.visitor {
            None => true,
            Some(VisitorKind::New) => !returning,
            Some(VisitorKind::Returning) => returning,
        };
        let primary = f.lang.split('-').next().unwrap_or("").to_ascii_lowercase();
        let ok_lang = self.languages.is_empty() || self.languages.contains(&primary);
        let ok_country = self.countries.is_empty() || f.country.as_ref().is_some_and(|c| self.countries.contains(c));
        let ok_cart = self.min_cart_value.is_none_or(|v| f.cart_value.is_some_and(|c| c >= v));
        let ok_event = self.event.as_ref().is_none_or(|e| {
            f.recent
                .iter()
                .any(|(n, at)| *n == e.name && now - at <= e.within_minutes * 60_000)
        });
        let ok_attrs = self.attributes.iter().all(|(k, v)| f.attributes.get(k) == Some(v));
        let ok_ident = self.identified.is_none_or(|i| i == f.identified);
        ok_url && ok_views && ok_time && ok_kind && ok_lang && ok_country && ok_cart && ok_event && ok_attrs && ok_ident
    }
}

/// `pattern` with `*` for any run of characters, against the whole of `text`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// The region of a browser language tag, if it has one (`pt-BR` → `BR`).
pub fn country_of(accept_language: &str) -> Option<String> {
    let first = accept_language.split(',').next()?.split(';').next()?.trim();
    let region = first.split(['-', '_']).nth(1)?;
    (region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic())).then(|| region.to_ascii_uppercase())
}

/// FNV-1a: stable across builds and platforms (std's hasher is not
/// promised to be), so a visitor keeps their group.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.iter().chain(b"|") {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The group of `visitor` in `campaign`: the holdout (`None`) or a
/// variant's name, the same every time it is asked.
pub fn assign(spec: &Spec, visitor: i64, campaign: i64) -> Option<&str> {
    let (v, c) = (visitor.to_le_bytes(), campaign.to_le_bytes());
    let bucket = (fnv(&[&v, &c, b"holdout"]) % 100) as i64;
    if bucket < spec.holdout_percent {
        return None;
    }
    let total: i64 = spec.variants.iter().map(|v| v.weight).sum();
    let mut pick = (fnv(&[&v, &c, b"variant"]) % total.max(1) as u64) as i64;
    for var in &spec.variants {
        if pick < var.weight {
            return Some(&var.name);
        }
        pick -= var.weight;
    }
    spec.variants.last().map(|v| v.name.as_str())
}

/// A two-proportion z-test of `a` against `b` (conversions, visitors).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Test {
    /// Rate of a minus rate of b.
    pub difference: f64,
    pub z: f64,
    pub p_value: f64,
    pub significant: bool,
}

/// Compares two groups; `None` while either has fewer than `MIN_SAMPLE`
/// visitors or no difference can be measured (both 0 % or both 100 %).
pub fn compare(a: (i64, i64), b: (i64, i64)) -> Option<Test> {
    let ((xa, na), (xb, nb)) = (a, b);
    if na < MIN_SAMPLE || nb < MIN_SAMPLE {
        return None;
    }
    let (pa, pb) = (xa as f64 / na as f64, xb as f64 / nb as f64);
    let pooled = (xa + xb) as f64 / (na + nb) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / na as f64 + 1.0 / nb as f64)).sqrt();
    if se == 0.0 {
        return None;
    }
    let z = (pa - pb) / se;
    let p_value = 2.0 * (1.0 - normal_cdf(z.abs()));
    Some(Test {
        difference: pa - pb,
        z,
        p_value,
        significant: p_value < 0.05,
    })
}

/// A plain statement of `compare`'s answer.
pub fn verdict(t: Option<&Test>) -> &'static str {
    match t {
        None => "not significant yet (too few visitors)",
        Some(t) if t.significant => "significant (p < 0.05)",
        Some(_) => "not significant yet",
    }
}

/// Φ(x) by Abramowitz and Stegun 7.1.26 (error below 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> Result<Spec, Invalid> {
        Spec::parse(&v)
    }

    fn basic() -> Value {
        json!({ "trigger": { "type": "time_on_page", "seconds": 2 }, "variants": [{ "name": "A", "message": { "en": "Hi" } }] })
    }

    #[test]
    fn parses_and_bounds() {
        let s = spec(basic()).unwrap();
        assert_eq!(s.cap_days, 30);
        assert_eq!(s.text("A", "de"), Some("Hi"));
        for bad in [
            json!({ "trigger": { "type": "blink" }, "variants": [] }),
            json!({ "trigger": { "type": "time_on_page", "seconds": 99999 }, "variants": [{ "name": "A", "message": { "en": "Hi" } }] }),
            json!({ "trigger": { "type": "exit_intent" }, "variants": [] }),
            json!({ "trigger": { "type": "exit_intent" }, "variants": [{ "name": "holdout", "message": { "en": "Hi" } }] }),
            json!({ "trigger": { "type": "event", "name": "Bad Name" }, "variants": [{ "name": "A", "message": { "en": "Hi" } }] }),
            json!({ "trigger": { "type": "exit_intent" }, "variants": [{ "name": "A", "message": { "en": "" } }] }),
            json!({ "trigger": { "type": "exit_intent" }, "holdout_percent": 90, "variants": [{ "name": "A", "message": { "en": "x" } }] }),
            json!({ "trigger": { "type": "exit_intent" }, "surprise": 1, "variants": [{ "name": "A", "message": { "en": "x" } }] }),
        ] {
            assert!(spec(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn audience_conditions() {
        let now = 10_000_000;
        let a: Audience = serde_json::from_value(json!({
            "url": "https://shop.test/cart*", "min_cart_value": 50.0, "languages": ["de"],
            "event": { "name": "checkout_error", "within_minutes": 5 }, "visitor": "new"
        }))
        .unwrap();
        let mut f = Facts {
            url: "https://shop.test/cart?x=1".into(),
            first_seen: now - 1000,
            lang: "de-AT".into(),
            cart_value: Some(79.8),
            recent: vec![("checkout_error".into(), now - 60_000)],
            ..Default::default()
        };
        assert!(a.matches(&f, now));
        f.cart_value = Some(10.0);
        assert!(!a.matches(&f, now));
        f.cart_value = Some(79.8);
        f.recent[0].1 = now - 10 * 60_000;
        assert!(!a.matches(&f, now));
        f.recent[0].1 = now;
        f.first_seen = now - NEW_FOR_MS - 1;
        assert!(!a.matches(&f, now));
    }

    #[test]
    fn globs() {
        assert!(glob("*", "anything"));
        assert!(glob("*/cart*", "https://x/cart/1"));
        assert!(!glob("*/cart", "https://x/cart/1"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("ab*ba", "aba"));
        assert_eq!(country_of("de-AT,de;q=0.9"), Some("AT".into()));
        assert_eq!(country_of("en"), None);
    }

    #[test]
    fn split_is_stable_and_near_the_weights() {
        let mut s = spec(basic()).unwrap();
        s.variants.push(Variant {
            name: "B".into(),
            message: [("en".to_string(), "Yo".to_string())].into(),
            weight: 1,
        });
        s.holdout_percent = 20;
        let mut counts = BTreeMap::new();
        for v in 0..10_000 {
            let g = assign(&s, v, 7).unwrap_or(HOLDOUT);
            assert_eq!(Some(g), Some(assign(&s, v, 7).unwrap_or(HOLDOUT)));
            *counts.entry(g).or_insert(0) += 1;
        }
        assert!((1700..2300).contains(&counts[HOLDOUT]), "{counts:?}");
        assert!((3600..4400).contains(&counts["A"]), "{counts:?}");
    }

    #[test]
    fn significance() {
        assert!(compare((1, 10), (5, 10)).is_none());
        let t = compare((200, 1000), (100, 1000)).unwrap();
        assert!(t.significant && t.p_value < 0.001, "{t:?}");
        let t = compare((52, 500), (50, 500)).unwrap();
        assert!(!t.significant);
        assert_eq!(verdict(Some(&t)), "not significant yet");
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
    }
}
