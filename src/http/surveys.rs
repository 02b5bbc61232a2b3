//! The survey pages: a ticket's CSAT rating behind its private link
//! (`/p/{slug}/t/{link}/csat`) and an NPS survey behind its token
//! (`/p/{slug}/nps/{token}`). The mail's links carry the score, and mail
//! scanners open links by themselves, so a GET only shows the choice; the
//! page's script (or its button) posts it. As on the private ticket page,
//! the address is the key: no account and no CSRF token.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::survey::{comment, Survey, COMMENT_MAX};
use crate::error::AppError;
use crate::store::surveys::Answer;
use crate::store::{StoreError, Workspace};

#[derive(Deserialize, Default)]
pub struct SurveyQuery {
    score: Option<String>,
    lang: Option<String>,
    saved: Option<String>,
}

/// What a page shows besides its survey's texts.
struct Shown {
    chosen: Option<i64>,
    /// The score and comment recorded so far.
    recorded: Option<i64>,
    comment: String,
    saved: bool,
    error: Option<String>,
}

/// One survey being shown: which, where it posts, its question.
struct Target<'a> {
    survey: Survey,
    ws: &'a Workspace,
    action: String,
    question: String,
    lang: &'static str,
}

async fn language(s: &AppState, ws: &Workspace, asked: Option<&str>, headers: &HeaderMap) -> &'static str {
    let fallback = s
        .store
        .mail_settings(ws.id)
        .await
        .map(|m| m.language)
        .unwrap_or_default();
    super::private::language(asked, headers, &fallback)
}

fn text(lang: &str, key: &str) -> String {
    crate::i18n::text(lang, &format!("survey-{key}"), &[])
}

fn render(t: &Target<'_>, shown: Shown, status: StatusCode) -> Response {
    let lang = t.lang;
    let scale: Vec<minijinja::Value> = t
        .survey
        .scale()
        .map(|n| {
            let label = match t.survey {
                Survey::Csat => format!("{n} – {}", text(lang, &format!("csat-{n}"))),
                Survey::Nps => n.to_string(),
            };
            let checked = shown.chosen.or(shown.recorded) == Some(n);
            minijinja::context! { value => n, label, checked }
        })
        .collect();
    // Saved by the script at once, unless it is what is recorded already.
    let auto = shown
        .chosen
        .filter(|c| shown.error.is_none() && Some(*c) != shown.recorded);
    // What an answered survey still allows: any change, or (NPS) a comment only.
    let change = match (t.survey, shown.recorded) {
        (Survey::Nps, Some(n)) => crate::i18n::text(lang, "survey-nps-once", &[("score", &n.to_string())]),
        _ => text(lang, "change"),
    };
    let texts = minijinja::context! {
        title => text(lang, &format!("{}-title", kind(t.survey))), comment => text(lang, "comment"), send => text(lang, "send"),
        saved => text(lang, "saved"), failed => text(lang, "failed"), change,
        low => text(lang, "nps-low"), high => text(lang, "nps-high"),
    };
    let mut r = super::pages::render(
        "survey.html",
        minijinja::context! {
            lang, dir => crate::i18n::dir(lang), workspace => t.ws.name, kind => kind(t.survey), question => t.question,
            scale, action => t.action, comment => shown.comment, comment_max => COMMENT_MAX, auto,
            answered => shown.recorded.is_some(), saved => shown.saved, error => shown.error, t => texts,
        },
    );
    *r.status_mut() = status;
    r
}

fn kind(s: Survey) -> &'static str {
    match s {
        Survey::Csat => "csat",
        Survey::Nps => "nps",
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"))
}

/// The answer in a form post or a JSON body. Err is what to tell the
/// customer (a 400).
fn answer_of(survey: Survey, json: bool, body: &[u8], lang: &str) -> Result<Answer, String> {
    let (score, comment_text) = if json {
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        let o = v.as_object().ok_or("the body must be a JSON object")?;
        if let Some(k) = o.keys().find(|k| !matches!(k.as_str(), "score" | "comment")) {
            return Err(format!(
                "unknown field '{}'; send score and comment",
                k.chars().take(40).collect::<String>()
            ));
        }
        let score = match o.get("score") {
            None | Some(Value::Null) => String::new(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => "?".into(),
        };
        let comment_text = match o.get("comment") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("comment must be a string".into()),
        };
        (score, comment_text)
    } else {
        if super::encoded_nul(body) {
            return Err(text(lang, "error-comment"));
        }
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| text(lang, "error-score"))?;
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
        (get("score").unwrap_or_default(), get("comment"))
    };
    let score = survey
        .score(&score)
        .map_err(|e| if json { e.to_string() } else { text(lang, "error-score") })?;
    let comment = comment_text.map(|c| comment(&c)).transpose().map_err(|e| {
        if json {
            e.to_string()
        } else {
            text(lang, "error-comment")
        }
    })?;
    Ok(Answer { score, comment })
}

/// A refused answer: the JSON error for the script, the page for a form.
fn refused(t: &Target<'_>, json: bool, status: StatusCode, message: String, shown: Shown) -> Response {
    if json {
        let code = match status {
            StatusCode::CONFLICT => "conflict",
            StatusCode::NOT_FOUND => "not_found",
            _ => "invalid_field",
        };
        return AppError::new(status, code, message).into_response();
    }
    render(
        t,
        Shown {
            error: Some(message),
            ..shown
        },
        status,
    )
}

fn not_found(json: bool) -> Response {
    if json {
        AppError::not_found("survey").into_response()
    } else {
        super::pages::not_found()
    }
}

/// As other public pages: the address held to its rate, then the workspace.
async fn open_workspace(s: &AppState, addr: SocketAddr, slug: &str, json: bool) -> Result<Workspace, Response> {
    s.limits
        .public
        .check(addr.ip(), "public", "too many requests; wait a little")
        .map_err(IntoResponse::into_response)?;
    s.store.workspace_by_slug(slug).await.map_err(|_| not_found(json))
}

/// The workspace and the ticket of a CSAT link, when its rating was asked.
async fn open_csat(
    s: &AppState,
    addr: SocketAddr,
    slug: &str,
    link: &str,
    json: bool,
) -> Result<(Workspace, crate::store::Ticket, crate::store::surveys::Csat), Response> {
    let ws = open_workspace(s, addr, slug, json).await?;
    let t = s.store.ticket_by_link(ws.id, link).await.map_err(|_| not_found(json))?;
    match s.store.csat(ws.id, t.id).await {
        Ok(Some(c)) => Ok((ws, t, c)),
        Ok(None) => Err(not_found(json)),
        Err(e) => Err(AppError::from(e).into_response()),
    }
}

/// The workspace and the NPS survey of a token.
async fn open_nps(
    s: &AppState,
    addr: SocketAddr,
    slug: &str,
    token: &str,
    json: bool,
) -> Result<(Workspace, crate::store::surveys::Nps), Response> {
    let ws = open_workspace(s, addr, slug, json).await?;
    match s.store.nps(ws.id, token).await {
        Ok(n) => Ok((ws, n)),
        Err(StoreError::NotFound) => Err(not_found(json)),
        Err(e) => Err(AppError::from(e).into_response()),
    }
}

fn csat_target<'a>(ws: &'a Workspace, slug: &str, link: &str, number: i64, lang: &'static str) -> Target<'a> {
    Target {
        survey: Survey::Csat,
        ws,
        action: format!("/p/{slug}/t/{link}/csat"),
        question: crate::i18n::text(lang, "survey-csat-question", &[("number", &number.to_string())]),
        lang,
    }
}

fn nps_target<'a>(ws: &'a Workspace, slug: &str, token: &str, lang: &'static str) -> Target<'a> {
    Target {
        survey: Survey::Nps,
        ws,
        action: format!("/p/{slug}/nps/{token}"),
        question: crate::i18n::text(lang, "survey-nps-question", &[("store", &ws.name)]),
        lang,
    }
}

/// The page a link opens: its score chosen, not yet saved.
fn shown_for(
    survey: Survey,
    q: &SurveyQuery,
    recorded: Option<i64>,
    comment: String,
    lang: &str,
) -> (Shown, StatusCode) {
    let (chosen, error) = match survey.score(q.score.as_deref().unwrap_or("")) {
        Ok(c) => (c, None),
        Err(_) => (None, Some(text(lang, "error-score"))),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let shown = Shown {
        chosen,
        recorded,
        comment,
        saved: q.saved.is_some(),
        error,
    };
    (shown, status)
}

pub async fn csat_page(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, link)): Path<(String, String)>,
    Query(q): Query<SurveyQuery>,
    headers: HeaderMap,
) -> Response {
    let (ws, t, c) = match open_csat(&s, addr, &slug, &link, false).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let lang = language(&s, &ws, q.lang.as_deref(), &headers).await;
    let target = csat_target(&ws, &slug, &link, t.number, lang);
    let (shown, status) = shown_for(Survey::Csat, &q, c.score, c.comment, lang);
    render(&target, shown, status)
}

pub async fn csat_answer(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, link)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = wants_json(&headers);
    let (ws, t, c) = match open_csat(&s, addr, &slug, &link, json).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let lang = language(&s, &ws, None, &headers).await;
    let target = csat_target(&ws, &slug, &link, t.number, lang);
    let shown = |chosen: Option<i64>| Shown {
        chosen,
        recorded: c.score,
        comment: c.comment.clone(),
        saved: false,
        error: None,
    };
    let answer = match answer_of(Survey::Csat, json, &body, lang) {
        Ok(a) => a,
        Err(m) => return refused(&target, json, StatusCode::BAD_REQUEST, m, shown(None)),
    };
    match s.svc.answer_csat(ws.id, t.id, &answer, "mail").await {
        Ok(c) if json => Json(json!({ "score": c.score, "comment": c.comment })).into_response(),
        Ok(_) => Redirect::to(&format!("{}?saved=1", target.action)).into_response(),
        Err(StoreError::Invalid(i)) => {
            let m = if json { i.to_string() } else { text(lang, "error-score") };
            refused(&target, json, StatusCode::BAD_REQUEST, m, shown(None))
        }
        Err(StoreError::NotFound) => not_found(json),
        Err(e) => AppError::from(e).into_response(),
    }
}

pub async fn nps_page(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, token)): Path<(String, String)>,
    Query(q): Query<SurveyQuery>,
    headers: HeaderMap,
) -> Response {
    let (ws, survey) = match open_nps(&s, addr, &slug, &token, false).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let lang = language(&s, &ws, q.lang.as_deref(), &headers).await;
    let target = nps_target(&ws, &slug, &token, lang);
    let (mut shown, status) = shown_for(Survey::Nps, &q, survey.score, survey.comment, lang);
    // A score is given once: another one from the mail is not offered.
    if let (Some(old), Some(new)) = (survey.score, shown.chosen) {
        if old != new {
            shown.chosen = None;
            shown.error = Some(crate::i18n::text(
                lang,
                "survey-nps-once",
                &[("score", &old.to_string())],
            ));
        }
    }
    render(&target, shown, status)
}

pub async fn nps_answer(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = wants_json(&headers);
    let (ws, before) = match open_nps(&s, addr, &slug, &token, json).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let lang = language(&s, &ws, None, &headers).await;
    let target = nps_target(&ws, &slug, &token, lang);
    let shown = |chosen: Option<i64>| Shown {
        chosen,
        recorded: before.score,
        comment: before.comment.clone(),
        saved: false,
        error: None,
    };
    let answer = match answer_of(Survey::Nps, json, &body, lang) {
        Ok(a) => a,
        Err(m) => return refused(&target, json, StatusCode::BAD_REQUEST, m, shown(None)),
    };
    match s.svc.answer_nps(ws.id, &token, &answer).await {
        Ok(n) if json => Json(json!({ "score": n.score, "comment": n.comment })).into_response(),
        Ok(_) => Redirect::to(&format!("{}?saved=1", target.action)).into_response(),
        Err(StoreError::Conflict(m)) => {
            let score = before.score.map(|n| n.to_string()).unwrap_or_default();
            let friendly = crate::i18n::text(lang, "survey-nps-once", &[("score", &score)]);
            refused(
                &target,
                json,
                StatusCode::CONFLICT,
                if json { m } else { friendly },
                shown(None),
            )
        }
        Err(StoreError::Invalid(i)) => {
            let m = if json { i.to_string() } else { text(lang, "error-score") };
            refused(&target, json, StatusCode::BAD_REQUEST, m, shown(None))
        }
        Err(StoreError::NotFound) => not_found(json),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// A rating sent over the chat socket (see `http::chat`): a score from 1
/// to 5 and an optional comment.
pub fn csat_from_frame(score: Option<i64>, comment_text: Option<&str>) -> Result<Answer, AppError> {
    let bad = |e: crate::domain::Invalid| AppError::from(e);
    let score = score
        .map(|n| Survey::Csat.score(&n.to_string()))
        .transpose()
        .map_err(bad)?
        .flatten();
    let comment = comment_text.map(comment).transpose().map_err(bad)?;
    Ok(Answer { score, comment })
}
