//! Admin → Campaigns: the workspace's proactive campaigns (started and
//! stopped, deleted), the editor that writes one from plain form fields
//! with a preview of the widget's bubble, and the results of each variant
//! against the holdout (also as CSV). Every change goes through the
//! campaigns service, so the console refuses what the API refuses, with
//! the same message. The plan's `proactive` feature is checked by the
//! session extractor (see `Feature::of_path`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin::admin_only;
use super::campaign_form::{locate, CampaignForm, Fault, LANGS, TRIGGERS};
use super::rule_form::Fields;
use super::rules::{id_of, missing, text};
use super::{back, page, Agent, Nothing, Notice, PageError, PageResult, Posted, Say};
use crate::app::AppState;
use crate::domain::campaign::{verdict, Spec, Test, Trigger, HOLDOUT};
use crate::store::console::Session;
use crate::store::StoreError;

const LIST: &str = "/app/admin/campaigns";
const DEFAULT_COLOR: &str = "#2563eb";

fn lang(s: &Session) -> &'static str {
    crate::i18n::pick(Some(&s.lang))
}

/// The trigger in words, in `lang`.
pub fn trigger_words(lang: &str, t: &Trigger) -> String {
    let say = |k: &str, args: &[(&str, &str)]| crate::i18n::text(lang, &format!("console-campaign-when-{k}"), args);
    match t {
        Trigger::TimeOnPage { seconds } => say("time", &[("seconds", &seconds.to_string())]),
        Trigger::ExitIntent => say("exit", &[]),
        Trigger::Scroll { percent } => say("scroll", &[("percent", &percent.to_string())]),
        Trigger::Event { name } => say("event", &[("name", name.as_str())]),
    }
}

pub async fn list(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    let ws = session.actor.workspace_id;
    let (campaigns, totals) = tokio::try_join!(s.store.list_campaigns(ws), s.store.campaign_totals(ws))?;
    let l = lang(&session);
    let rows: Vec<_> = campaigns
        .iter()
        .map(|c| {
            let (shown, replied, converted) = totals
                .iter()
                .find(|t| t.0 == c.id)
                .map_or((0, 0, 0), |t| (t.1, t.2, t.3));
            minijinja::context! {
                id => c.id, name => c.name, active => c.active, priority => c.priority,
                trigger => trigger_words(l, &c.spec.trigger), variants => c.spec.variants.len(),
                holdout => c.spec.holdout_percent, shown, replied, converted,
            }
        })
        .collect();
    Ok(page(
        &session,
        "console_admin_campaigns.html",
        "admin",
        minijinja::context! { tab => "campaigns", ok => n.ok, err => n.err, campaigns => rows },
    ))
}

/// The workspace's agents for the "from" select: (id, name).
async fn agents(s: &AppState, ws: i64) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(s.store
        .list_users(ws)
        .await?
        .into_iter()
        .filter(|u| u.active)
        .map(|u| (u.id, u.name))
        .collect())
}

#[derive(Deserialize, Default)]
pub struct EditQuery {
    /// The preview's language and variant.
    lang: Option<String>,
    variant: Option<String>,
    ok: Option<String>,
}

/// The bubble as a visitor in `asked` language sees variant `variant`.
fn preview(spec: &Spec, agents: &[(i64, String)], q: &EditQuery, fallback: &str, color: &str) -> minijinja::Value {
    let mut langs: Vec<String> = LANGS.iter().map(|l| l.to_string()).collect();
    for v in &spec.variants {
        for l in v.message.keys() {
            if !langs.contains(l) {
                langs.push(l.clone());
            }
        }
    }
    let lang = q
        .lang
        .as_deref()
        .filter(|l| langs.iter().any(|x| x == l))
        .unwrap_or(fallback)
        .to_string();
    let variant = q
        .variant
        .as_deref()
        .and_then(|n| spec.variants.iter().find(|v| v.name == n))
        .or_else(|| spec.variants.first())
        .map(|v| v.name.clone())
        .unwrap_or_default();
    let text = spec.text(&variant, &lang).unwrap_or_default().to_string();
    // The text shown when the visitor's language has none: which one.
    let shown_lang = spec
        .variants
        .iter()
        .find(|v| v.name == variant)
        .and_then(|v| {
            if v.message.contains_key(&lang) {
                Some(lang.clone())
            } else if v.message.contains_key("en") {
                Some("en".into())
            } else {
                v.message.keys().next().cloned()
            }
        })
        .unwrap_or_else(|| lang.clone());
    let from = spec
        .from_user_id
        .and_then(|u| agents.iter().find(|(id, _)| *id == u))
        .map(|(_, n)| n.clone());
    let initial = from
        .as_deref()
        .and_then(|n| n.chars().next())
        .map(|c| c.to_uppercase().to_string());
    minijinja::context! {
        lang, variant, text, from, initial, langs, fallback => shown_lang != lang, shown_lang,
        dir => if shown_lang == "fa" { "rtl" } else { "ltr" },
        variants => spec.variants.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
        color,
    }
}

/// The widget's colour, as the admin set it (always `#rrggbb` when valid).
async fn accent(s: &AppState, ws: i64) -> String {
    s.store
        .widget_settings(ws)
        .await
        .ok()
        .map(|w| w.color)
        .filter(|c| c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| DEFAULT_COLOR.into())
}

struct Editor<'a> {
    id: Option<i64>,
    form: &'a CampaignForm,
    fault: Option<Fault>,
    preview: Option<minijinja::Value>,
    ok: Option<String>,
}

fn editor(session: &Session, agents: &[(i64, String)], e: Editor) -> Response {
    let l = lang(session);
    let action = e.id.map_or_else(|| format!("{LIST}/new"), |id| format!("{LIST}/{id}"));
    let label = e.fault.as_ref().filter(|f| !f.field.is_empty()).map(|f| {
        let key = if f.field.ends_with("_weight") {
            "variant-weight".to_string()
        } else {
            format!("f-{}", f.field.replace('_', "-"))
        };
        crate::i18n::text(l, &format!("console-campaign-{key}"), &[])
    });
    let agents: Vec<_> = agents
        .iter()
        .map(|(id, name)| minijinja::context! { id => id.to_string(), name })
        .collect();
    let failed = e.fault.is_some();
    let mut r = page(
        session,
        "console_admin_campaign_edit.html",
        "admin",
        minijinja::context! {
            tab => "campaigns", campaign_id => e.id, action, form => e.form, fault => e.fault, fault_label => label,
            preview => e.preview, agents, triggers => TRIGGERS, ok => e.ok,
        },
    );
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub async fn new_page(State(s): State<AppState>, Agent(session): Agent) -> PageResult {
    admin_only(&session)?;
    let agents = agents(&s, session.actor.workspace_id).await?;
    let form = CampaignForm::blank();
    Ok(editor(
        &session,
        &agents,
        Editor {
            id: None,
            form: &form,
            fault: None,
            preview: None,
            ok: None,
        },
    ))
}

pub async fn edit_page(
    State(s): State<AppState>,
    Agent(session): Agent,
    Path(id): Path<String>,
    Query(q): Query<EditQuery>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    let ws = session.actor.workspace_id;
    let c = s.store.campaign(ws, id).await.map_err(missing)?;
    let (agents, color) = tokio::join!(agents(&s, ws), accent(&s, ws));
    let agents = agents?;
    let form = CampaignForm::from_campaign(&c);
    let preview = preview(&c.spec, &agents, &q, lang(&session), &color);
    Ok(editor(
        &session,
        &agents,
        Editor {
            id: Some(id),
            form: &form,
            fault: None,
            preview: Some(preview),
            ok: q.ok.clone(),
        },
    ))
}

pub async fn create(State(s): State<AppState>, Posted(session, f): Posted<Vec<(String, String)>>) -> PageResult {
    admin_only(&session)?;
    save(&s, &session, None, Fields(f)).await
}

pub async fn update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<Vec<(String, String)>>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    save(&s, &session, Some(id), Fields(f)).await
}

/// What a refusal of the service says, next to the field it is about.
fn fault_of(e: StoreError) -> Result<Fault, PageError> {
    match e {
        StoreError::NotFound => Err(missing(StoreError::NotFound)),
        StoreError::Invalid(i) => Ok(locate(i.field, &i.message)),
        e => Ok(Fault {
            field: String::new(),
            message: e.say(),
        }),
    }
}

/// Saves the posted campaign, or shows the editor again with what was
/// typed and why it was refused.
async fn save(s: &AppState, session: &Session, id: Option<i64>, f: Fields) -> PageResult {
    let ws = session.actor.workspace_id;
    let l = lang(session);
    let current = match id {
        Some(id) => Some(s.store.campaign(ws, id).await.map_err(missing)?),
        None => None,
    };
    let mut form = CampaignForm::read(&f);
    if let Some(c) = &current {
        form.keep_attributes(c);
    }
    let saved = match form.to_json(l, id.is_none()) {
        Err(fault) => Err(fault),
        Ok(body) => {
            let done = match id {
                None => s.svc.create_campaign(&session.actor, &body).await,
                Some(id) => s.svc.update_campaign(&session.actor, id, &body).await,
            };
            match done {
                Ok(c) => Ok(c),
                Err(e) => Err(fault_of(e)?),
            }
        }
    };
    match saved {
        Ok(c) => Ok(back(
            &format!("{LIST}/{}", c.id),
            "ok",
            &text(session, "campaign-saved"),
        )),
        Err(fault) => {
            let agents = agents(s, ws).await?;
            let preview = match &current {
                Some(c) => Some(preview(
                    &c.spec,
                    &agents,
                    &EditQuery::default(),
                    l,
                    &accent(s, ws).await,
                )),
                None => None,
            };
            Ok(editor(
                session,
                &agents,
                Editor {
                    id,
                    form: &form,
                    fault: Some(fault),
                    preview,
                    ok: None,
                },
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    on: String,
}

/// Starts or stops a campaign.
pub async fn set_active(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<ActiveForm>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    let on = f.on == "1";
    match s
        .svc
        .update_campaign(&session.actor, id, &json!({ "active": on }))
        .await
    {
        Ok(_) => Ok(back(
            LIST,
            "ok",
            &text(&session, if on { "campaign-started" } else { "campaign-stopped" }),
        )),
        Err(StoreError::NotFound) => Err(missing(StoreError::NotFound)),
        Err(e) => Err(PageError::back(LIST, &e.say())),
    }
}

pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    s.svc.delete_campaign(&session.actor, id).await.map_err(missing)?;
    Ok(back(LIST, "ok", &text(&session, "campaign-deleted")))
}

/// One group's row of the results: counts, conversion rate and lift.
#[derive(Debug, Clone, serde::Serialize)]
struct Group {
    variant: String,
    holdout: bool,
    shown: i64,
    opened: i64,
    replied: i64,
    converted: i64,
    /// Conversion rate in percent, one decimal (none before anyone is shown).
    rate: Option<String>,
    /// Percentage points above (or below) the holdout's rate.
    lift: Option<String>,
    rate_raw: Option<f64>,
    lift_raw: Option<f64>,
}

fn count(v: &Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or(0)
}

fn group(v: &Value, holdout_rate: Option<f64>) -> Group {
    let (shown, converted) = (count(v, "shown"), count(v, "converted"));
    let rate = (shown > 0).then(|| converted as f64 / shown as f64);
    let is_holdout = v["variant"] == HOLDOUT;
    let lift = match (rate, holdout_rate) {
        (Some(r), Some(h)) if !is_holdout => Some(r - h),
        _ => None,
    };
    Group {
        variant: v["variant"].as_str().unwrap_or("").to_string(),
        holdout: is_holdout,
        shown,
        opened: count(v, "opened"),
        replied: count(v, "replied"),
        converted,
        rate: rate.map(|r| format!("{:.1}", r * 100.0)),
        lift: lift.map(|d| format!("{:+.1}", d * 100.0)),
        rate_raw: rate,
        lift_raw: lift,
    }
}

/// The key of the words for one of `verdict`'s statements.
fn verdict_key(statement: &str) -> &'static str {
    let yes = Test {
        difference: 0.0,
        z: 0.0,
        p_value: 0.0,
        significant: true,
    };
    if statement == verdict(None) {
        "campaign-verdict-too-few"
    } else if statement == verdict(Some(&yes)) {
        "campaign-verdict-significant"
    } else {
        "campaign-verdict-not-yet"
    }
}

/// The results as the API gives them, as rows for the page and the CSV.
async fn results_of(s: &AppState, session: &Session, id: i64) -> Result<(String, Value, Vec<Group>), PageError> {
    let ws = session.actor.workspace_id;
    let c = s.store.campaign(ws, id).await.map_err(missing)?;
    let r = s.svc.campaign_results(ws, id).await.map_err(missing)?;
    let holdout = &r["holdout"];
    let h_shown = count(holdout, "shown");
    let h_rate = (h_shown > 0).then(|| count(holdout, "converted") as f64 / h_shown as f64);
    let mut groups: Vec<Group> = r["variants"]
        .as_array()
        .map(|vs| vs.iter().map(|v| group(v, h_rate)).collect())
        .unwrap_or_default();
    groups.push(group(holdout, None));
    Ok((c.name, r, groups))
}

pub async fn results(State(s): State<AppState>, Agent(session): Agent, Path(id): Path<String>) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    let (name, r, groups) = results_of(&s, &session, id).await?;
    let l = lang(&session);
    let say = |statement: &Value| {
        crate::i18n::text(
            l,
            &format!("console-{}", verdict_key(statement.as_str().unwrap_or(""))),
            &[],
        )
    };
    let p = |test: &Value| test["p_value"].as_f64().map(|p| format!("{p:.3}"));
    let sig = &r["significance"];
    let between = sig["between_variants"].is_object().then(|| {
        let b = &sig["between_variants"];
        minijinja::context! { a => b["a"].as_str(), b => b["b"].as_str(), statement => say(&b["statement"]), p => p(&b["test"]), significant => b["test"]["significant"].as_bool().unwrap_or(false) }
    });
    let against = sig["against_holdout"].is_object().then(|| {
        let h = &sig["against_holdout"];
        minijinja::context! { statement => say(&h["statement"]), p => p(&h["test"]), significant => h["test"]["significant"].as_bool().unwrap_or(false) }
    });
    Ok(page(
        &session,
        "console_admin_campaign_results.html",
        "admin",
        minijinja::context! {
            tab => "campaigns", campaign_id => id, name, groups, between, against,
            goal_event => r["goal_event"].as_str(),
        },
    ))
}

pub async fn results_csv(State(s): State<AppState>, Agent(session): Agent, Path(id): Path<String>) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    let (_, _, groups) = results_of(&s, &session, id).await?;
    let mut csv = crate::http::csv::Csv::new(&[
        "group",
        "shown",
        "opened",
        "replied",
        "converted",
        "conversion_rate",
        "lift_vs_holdout",
    ]);
    for g in &groups {
        let num = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
        csv.row([
            g.variant.clone(),
            g.shown.to_string(),
            g.opened.to_string(),
            g.replied.to_string(),
            g.converted.to_string(),
            num(g.rate_raw),
            num(g.lift_raw),
        ]);
    }
    Ok(csv.download(&format!("campaign-{id}-results")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_have_words() {
        assert_eq!(verdict_key(verdict(None)), "campaign-verdict-too-few");
        assert_eq!(verdict_key("not significant yet"), "campaign-verdict-not-yet");
        assert_eq!(verdict_key("significant (p < 0.05)"), "campaign-verdict-significant");
        for l in LANGS {
            for k in ["too-few", "not-yet", "significant"] {
                let id = format!("console-campaign-verdict-{k}");
                assert_ne!(crate::i18n::text(l, &id, &[]), id);
            }
        }
        assert!(trigger_words("fa", &Trigger::Scroll { percent: 40 }).contains("40"));
    }

    #[test]
    fn lift_is_against_the_holdout() {
        let g = group(&json!({ "variant": "A", "shown": 100, "converted": 12 }), Some(0.1));
        assert_eq!((g.rate.as_deref(), g.lift.as_deref()), (Some("12.0"), Some("+2.0")));
        let h = group(&json!({ "variant": "holdout", "shown": 0, "converted": 0 }), None);
        assert!(h.holdout && h.rate.is_none() && h.lift.is_none());
    }
}
