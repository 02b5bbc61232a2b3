//! The campaign editor's fields: read from a posted form into the JSON the
//! campaigns service checks (the domain's rules and messages are the only
//! ones; the form only turns typed text into numbers and lists), and back
//! from a stored campaign into fields to edit. Blank variant rows and blank
//! messages are ignored.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::rule_form::Fields;
use crate::domain::campaign::{Trigger, VisitorKind};
use crate::store::campaigns::Campaign;

/// The console's languages: each variant row offers a message in each.
pub const LANGS: [&str; 4] = ["en", "ru", "uk", "fa"];
/// Variant rows read from a form: more than the domain allows, so the
/// domain's limit is the one the admin is told about.
const ROWS_READ: usize = 8;
/// Rows offered: at least this many…
const MIN_ROWS: usize = 2;
/// …and empty ones up to the domain's limit.
const MAX_ROWS: usize = 4;
pub const TRIGGERS: [&str; 4] = ["time_on_page", "exit_intent", "scroll", "event"];

#[derive(Debug, Clone, Default, Serialize)]
pub struct Message {
    pub lang: String,
    pub text: String,
    pub dir: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VariantRow {
    pub name: String,
    pub weight: String,
    pub messages: Vec<Message>,
    /// The name used when none is typed: A, B, C…
    pub letter: String,
}

/// What the editor shows and posts, as typed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CampaignForm {
    pub name: String,
    pub priority: String,
    /// New campaigns only: start it at once.
    pub start: bool,
    pub url: String,
    pub min_page_views: String,
    pub min_seconds: String,
    /// "", "new" or "returning".
    pub visitor: String,
    pub languages: String,
    pub countries: String,
    pub min_cart: String,
    pub event: String,
    pub event_minutes: String,
    /// "", "yes" or "no".
    pub identified: String,
    pub trigger: String,
    pub seconds: String,
    pub percent: String,
    pub trigger_event: String,
    pub variants: Vec<VariantRow>,
    pub holdout: String,
    pub cap_days: String,
    pub goal_event: String,
    pub goal_hours: String,
    pub only_open_hours: bool,
    pub only_agents_online: bool,
    /// The sending agent's id, or "" for the team.
    pub from: String,
    /// Contact attribute conditions (set through the API): kept as they
    /// are, not edited here.
    #[serde(skip)]
    pub attributes: Map<String, Value>,
    pub attributes_kept: usize,
}

/// Why a form was not saved: the form field at fault (empty: the form as a
/// whole) and what to say.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub field: String,
    pub message: String,
}

fn letter(i: usize) -> String {
    char::from(b'A' + (i as u8 % 26)).to_string()
}

fn dir_of(lang: &str) -> &'static str {
    match lang {
        "fa" | "ar" | "he" | "ur" => "rtl",
        l if LANGS.contains(&l) => "ltr",
        _ => "auto",
    }
}

fn row(i: usize, name: &str, weight: &str, messages: Vec<Message>) -> VariantRow {
    VariantRow {
        name: name.into(),
        weight: weight.into(),
        messages,
        letter: letter(i),
    }
}

/// The four languages' messages, then any other language the row has.
fn messages(given: &[(String, String)]) -> Vec<Message> {
    let mut out: Vec<Message> = LANGS
        .iter()
        .map(|l| Message {
            lang: (*l).into(),
            text: given
                .iter()
                .find(|(k, _)| k == l)
                .map(|(_, t)| t.clone())
                .unwrap_or_default(),
            dir: dir_of(l),
        })
        .collect();
    for (l, t) in given {
        if !LANGS.contains(&l.as_str()) {
            out.push(Message {
                lang: l.clone(),
                text: t.clone(),
                dir: dir_of(l),
            });
        }
    }
    out
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

fn split_list(raw: &str) -> Vec<String> {
    raw.split([',', ' ', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl CampaignForm {
    /// A new campaign: shown after ten seconds on a page, two variants.
    pub fn blank() -> CampaignForm {
        CampaignForm {
            priority: "0".into(),
            trigger: "time_on_page".into(),
            seconds: "10".into(),
            percent: "50".into(),
            event_minutes: "30".into(),
            holdout: "10".into(),
            cap_days: "30".into(),
            goal_hours: "24".into(),
            variants: (0..MIN_ROWS).map(|i| row(i, "", "1", messages(&[]))).collect(),
            ..Default::default()
        }
    }

    pub fn from_campaign(c: &Campaign) -> CampaignForm {
        let s = &c.spec;
        let a = &s.audience;
        let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        let (trigger, seconds, percent, trigger_event) = match &s.trigger {
            Trigger::TimeOnPage { seconds } => ("time_on_page", seconds.to_string(), "50".into(), String::new()),
            Trigger::ExitIntent => ("exit_intent", "10".into(), "50".into(), String::new()),
            Trigger::Scroll { percent } => ("scroll", "10".into(), percent.to_string(), String::new()),
            Trigger::Event { name } => ("event", "10".into(), "50".into(), name.clone()),
        };
        let mut form = CampaignForm {
            name: c.name.clone(),
            priority: c.priority.to_string(),
            start: false,
            url: a.url.clone().unwrap_or_default(),
            min_page_views: opt(a.min_page_views),
            min_seconds: opt(a.min_seconds_on_site),
            visitor: match a.visitor {
                None => "",
                Some(VisitorKind::New) => "new",
                Some(VisitorKind::Returning) => "returning",
            }
            .into(),
            languages: list(&a.languages),
            countries: list(&a.countries),
            min_cart: a.min_cart_value.map(|v| v.to_string()).unwrap_or_default(),
            event: a.event.as_ref().map(|e| e.name.clone()).unwrap_or_default(),
            event_minutes: a
                .event
                .as_ref()
                .map_or_else(|| "30".into(), |e| e.within_minutes.to_string()),
            identified: match a.identified {
                None => "",
                Some(true) => "yes",
                Some(false) => "no",
            }
            .into(),
            trigger: trigger.into(),
            seconds,
            percent,
            trigger_event,
            variants: s
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let given: Vec<(String, String)> = v.message.iter().map(|(l, t)| (l.clone(), t.clone())).collect();
                    row(i, &v.name, &v.weight.to_string(), messages(&given))
                })
                .collect(),
            holdout: s.holdout_percent.to_string(),
            cap_days: s.cap_days.to_string(),
            goal_event: s.goal_event.clone().unwrap_or_default(),
            goal_hours: s.goal_hours.to_string(),
            only_open_hours: s.only_open_hours,
            only_agents_online: s.only_agents_online,
            from: s.from_user_id.map(|u| u.to_string()).unwrap_or_default(),
            attributes: a.attributes.clone().into_iter().collect(),
            attributes_kept: 0,
        };
        form.attributes_kept = form.attributes.len();
        form.pad();
        form
    }

    /// One empty variant row more than the filled ones, at least two, at
    /// most the domain's limit.
    fn pad(&mut self) {
        let want = (self.variants.len() + 1).clamp(MIN_ROWS, MAX_ROWS);
        while self.variants.len() < want {
            let i = self.variants.len();
            self.variants.push(row(i, "", "1", messages(&[])));
        }
    }

    /// The form as posted. Unknown fields are ignored.
    pub fn read(f: &Fields) -> CampaignForm {
        let g = |k: &str| f.get(k).to_string();
        let t = |k: &str| f.get(k).trim().to_string();
        let variants = (0..ROWS_READ)
            .filter_map(|i| {
                let prefix = format!("v{i}_msg_");
                let given: Vec<(String, String)> =
                    f.0.iter()
                        .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|l| (l.to_string(), v.clone())))
                        .collect();
                let name = t(&format!("v{i}_name"));
                let weight = t(&format!("v{i}_weight"));
                let present = f.0.iter().any(|(k, _)| k.starts_with(&format!("v{i}_")));
                present.then(|| row(i, &name, &weight, messages(&given)))
            })
            .collect();
        let mut form = CampaignForm {
            name: g("name"),
            priority: t("priority"),
            start: f.checked("start"),
            url: t("url"),
            min_page_views: t("min_page_views"),
            min_seconds: t("min_seconds"),
            visitor: t("visitor"),
            languages: t("languages"),
            countries: t("countries"),
            min_cart: t("min_cart"),
            event: t("event"),
            event_minutes: t("event_minutes"),
            identified: t("identified"),
            trigger: t("trigger"),
            seconds: t("seconds"),
            percent: t("percent"),
            trigger_event: t("trigger_event"),
            variants,
            holdout: t("holdout"),
            cap_days: t("cap_days"),
            goal_event: t("goal_event"),
            goal_hours: t("goal_hours"),
            only_open_hours: f.checked("only_open_hours"),
            only_agents_online: f.checked("only_agents_online"),
            from: t("from"),
            attributes: Map::new(),
            attributes_kept: 0,
        };
        form.pad();
        form
    }

    /// Keeps the attribute conditions of the campaign being edited.
    pub fn keep_attributes(&mut self, c: &Campaign) {
        self.attributes = c.spec.audience.attributes.clone().into_iter().collect();
        self.attributes_kept = self.attributes.len();
    }

    /// The body the campaigns service takes, every rule given (a change
    /// replaces the campaign's rules with the form's). `Err`: a field
    /// that is not a number where one is needed, or is left empty.
    pub fn to_json(&self, lang: &str, new: bool) -> Result<Value, Fault> {
        let say = |field: &str, key: &str| Fault {
            field: field.into(),
            message: crate::i18n::text(lang, &format!("console-campaign-{key}"), &[]),
        };
        let int = |field: &str, raw: &str| -> Result<Option<Value>, Fault> {
            if raw.is_empty() {
                return Ok(None);
            }
            raw.parse::<i64>()
                .map(|n| Some(json!(n)))
                .map_err(|_| say(field, "not-whole-number"))
        };
        let needed =
            |field: &str, raw: &str| -> Result<Value, Fault> { int(field, raw)?.ok_or_else(|| say(field, "required")) };

        let mut audience = Map::new();
        if !self.url.is_empty() {
            audience.insert("url".into(), json!(self.url));
        }
        if let Some(n) = int("min_page_views", &self.min_page_views)? {
            audience.insert("min_page_views".into(), n);
        }
        if let Some(n) = int("min_seconds", &self.min_seconds)? {
            audience.insert("min_seconds_on_site".into(), n);
        }
        if !self.visitor.is_empty() {
            audience.insert("visitor".into(), json!(self.visitor));
        }
        let langs = split_list(&self.languages);
        if !langs.is_empty() {
            audience.insert("languages".into(), json!(langs));
        }
        let countries = split_list(&self.countries);
        if !countries.is_empty() {
            audience.insert("countries".into(), json!(countries));
        }
        if !self.min_cart.is_empty() {
            let v = self
                .min_cart
                .replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| say("min_cart", "not-number"))?;
            audience.insert("min_cart_value".into(), json!(v));
        }
        if !self.event.is_empty() {
            let within = needed("event_minutes", &self.event_minutes)?;
            audience.insert("event".into(), json!({ "name": self.event, "within_minutes": within }));
        }
        match self.identified.as_str() {
            "" => {}
            "yes" => {
                audience.insert("identified".into(), json!(true));
            }
            "no" => {
                audience.insert("identified".into(), json!(false));
            }
            other => {
                audience.insert("identified".into(), json!(other));
            }
        }
        if !self.attributes.is_empty() {
            audience.insert("attributes".into(), Value::Object(self.attributes.clone()));
        }

        let trigger = match self.trigger.as_str() {
            "time_on_page" => json!({ "type": "time_on_page", "seconds": needed("seconds", &self.seconds)? }),
            "scroll" => json!({ "type": "scroll", "percent": needed("percent", &self.percent)? }),
            "event" => json!({ "type": "event", "name": self.trigger_event }),
            // Exit intent, or a type the domain will name as unknown.
            other => json!({ "type": other }),
        };

        let mut variants = vec![];
        for (i, v) in self.variants.iter().enumerate() {
            let message: Map<String, Value> = v
                .messages
                .iter()
                .filter(|m| !m.text.trim().is_empty())
                .map(|m| (m.lang.clone(), json!(m.text.trim())))
                .collect();
            if v.name.is_empty() && message.is_empty() {
                continue;
            }
            let mut var = json!({
                "name": if v.name.is_empty() { v.letter.clone() } else { v.name.clone() },
                "message": message,
            });
            if let Some(w) = int(&format!("v{i}_weight"), &v.weight)? {
                var["weight"] = w;
            }
            variants.push(var);
        }

        let from = int("from", &self.from)?;
        let mut body = json!({
            "name": self.name,
            "priority": int("priority", &self.priority)?.unwrap_or(json!(0)),
            "audience": audience,
            "trigger": trigger,
            "variants": variants,
            "holdout_percent": int("holdout", &self.holdout)?.unwrap_or(json!(0)),
            "cap_days": needed("cap_days", &self.cap_days)?,
            "goal_event": if self.goal_event.is_empty() { Value::Null } else { json!(self.goal_event) },
            "goal_hours": needed("goal_hours", &self.goal_hours)?,
            "only_open_hours": self.only_open_hours,
            "only_agents_online": self.only_agents_online,
            "from_user_id": from.unwrap_or(Value::Null),
        });
        if new {
            body["active"] = json!(self.start);
        }
        Ok(body)
    }
}

/// The form field a domain message is about (`audience.url: …` → `url`),
/// and the message without the field's name.
pub fn locate(field: &str, message: &str) -> Fault {
    let to = match field {
        "name" | "priority" | "goal_event" | "goal_hours" | "cap_days" => field,
        "audience.url" => "url",
        "audience.min_page_views" => "min_page_views",
        "audience.min_seconds_on_site" => "min_seconds",
        "audience" | "audience.languages" => "languages",
        "audience.countries" => "countries",
        "audience.min_cart_value" => "min_cart",
        "audience.event.name" => "event",
        "audience.event.within_minutes" => "event_minutes",
        "audience.attributes" => "attributes",
        "trigger.seconds" => "seconds",
        "trigger.percent" => "percent",
        "trigger.name" => "trigger_event",
        "holdout_percent" => "holdout",
        "from_user_id" => "from",
        f if f.starts_with("variants") => "variants",
        _ => "",
    };
    Fault {
        field: to.into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn reads_the_form_into_the_service_body() {
        let f = fields(&[
            ("name", "Cart rescue"),
            ("priority", "5"),
            ("url", "https://shop.test/cart*"),
            ("languages", "en, fa"),
            ("min_cart", "49,90"),
            ("event", "checkout_error"),
            ("event_minutes", "10"),
            ("identified", "no"),
            ("trigger", "scroll"),
            ("percent", "60"),
            ("v0_name", ""),
            ("v0_weight", "2"),
            ("v0_msg_en", "Need help?"),
            ("v0_msg_fa", "کمک لازم دارید؟"),
            ("v0_msg_ru", "  "),
            ("v1_name", ""),
            ("v1_weight", "1"),
            ("v1_msg_en", ""),
            ("holdout", "10"),
            ("cap_days", "7"),
            ("goal_event", "order_completed"),
            ("goal_hours", "24"),
            ("only_open_hours", "1"),
            ("from", ""),
        ]);
        let form = CampaignForm::read(&f);
        assert_eq!(form.variants.len(), 3, "two posted rows and one blank");
        let body = form.to_json("en", true).unwrap();
        assert_eq!(body["trigger"], json!({ "type": "scroll", "percent": 60 }));
        assert_eq!(
            body["variants"],
            json!([{ "name": "A", "weight": 2, "message": { "en": "Need help?", "fa": "کمک لازم دارید؟" } }])
        );
        assert_eq!(body["audience"]["languages"], json!(["en", "fa"]));
        assert_eq!(body["audience"]["min_cart_value"], json!(49.9));
        assert_eq!(body["audience"]["identified"], json!(false));
        assert_eq!(body["from_user_id"], Value::Null);
        assert_eq!(body["active"], json!(false));
        assert!(body["only_open_hours"].as_bool().unwrap());
        assert!(crate::domain::campaign::Spec::parse(&{
            let mut b = body.clone();
            for k in ["name", "priority", "active"] {
                b.as_object_mut().unwrap().remove(k);
            }
            b
        })
        .is_ok());
    }

    #[test]
    fn numbers_typed_as_words_are_named() {
        let mut form = CampaignForm::blank();
        form.holdout = "ten".into();
        assert_eq!(form.to_json("en", true).unwrap_err().field, "holdout");
        let mut form = CampaignForm::blank();
        form.cap_days = String::new();
        assert_eq!(form.to_json("en", true).unwrap_err().field, "cap_days");
        assert_eq!(locate("audience.min_page_views", "x").field, "min_page_views");
        assert_eq!(locate("variants.message", "x").field, "variants");
    }
}
