//! "My requests": the customer signs in with a one-time link sent to their
//! address and sees every ticket of that address, on any channel; each
//! opens on its private page, where they can answer.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::plan::Feature;
use crate::domain::worklog::{Month, WorkType};
use crate::domain::Email;
use crate::error::AppError;
use crate::store::Workspace;

const COOKIE: &str = "sd_portal";

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    lang: Option<String>,
    month: Option<String>,
}

#[derive(Deserialize)]
pub struct Ask {
    email: String,
    #[serde(default)]
    website: String,
}

fn texts(lang: &str) -> minijinja::Value {
    let t = |k: &str| crate::i18n::text(lang, &format!("portal-{k}"), &[]);
    minijinja::context! { my => t("my"), email => t("email"), send_link => t("send-link"), check => t("check"), sign_out => t("sign-out"), none => t("none"), updated => t("updated"), intro => t("intro"), report_link => t("report-link") }
}

fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")).map(str::to_string))
}

fn page(ws: &Workspace, lang: &str, extra: minijinja::Value) -> Response {
    super::pages::render(
        "portal.html",
        minijinja::context! { lang, dir => crate::i18n::dir(lang), workspace => ws.name, t => texts(lang), ..extra },
    )
}

pub async fn show(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let ws = match super::pages::open_workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let lang = super::pages::lang_of(q.lang.as_deref(), &headers);
    let email = match session_of(&headers) {
        Some(sess) => s.store.portal_session(ws.id, &sess).await.ok().flatten(),
        None => None,
    };
    let Some(email) = email else {
        return page(&ws, lang, minijinja::context! {});
    };
    let tickets = match s.store.tickets_of_email(ws.id, &email).await {
        Ok(t) => t,
        Err(e) => return AppError::from(e).into_response(),
    };
    // A customer whose contact belongs to a client sees its monthly report.
    let report = s
        .svc
        .plans
        .standing(&s.store, ws.id)
        .await
        .is_ok_and(|st| st.allows(Feature::TimeTracking))
        && s.store
            .clients_of_email(ws.id, &email)
            .await
            .is_ok_and(|c| !c.is_empty());
    let mut rows = Vec::with_capacity(tickets.len());
    for t in tickets {
        let link = s.store.ticket_link(t.id).await.unwrap_or_default();
        let status = crate::i18n::text(lang, &format!("portal-status-{}", t.status), &[]);
        rows.push(minijinja::context! { number => t.number, subject => t.subject, status, url => format!("/p/{slug}/t/{link}"), updated => crate::domain::time::rfc3339(t.last_message_at)[..10].to_string() });
    }
    page(
        &ws,
        lang,
        minijinja::context! { email, tickets => rows, logout => format!("/p/{slug}/portal/logout"), report => report.then(|| format!("/p/{slug}/portal/report?lang={lang}")) },
    )
}

pub async fn ask(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(a): Form<Ask>,
) -> Response {
    let ws = match super::pages::open_workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let lang = super::pages::lang_of(q.lang.as_deref(), &headers);
    let Ok(email) = Email::parse("email", &a.email) else {
        return page(
            &ws,
            lang,
            minijinja::context! { error => crate::i18n::text(lang, "form-err-fields", &[]) },
        );
    };
    // A robot gets the same answer as everyone, and no mail.
    if a.website.is_empty() {
        if let Err(e) = s
            .store
            .portal_request(&ws, &email, &s.site.public_url, crate::store::portal::LOGIN_TTL_MS)
            .await
        {
            return AppError::from(e).into_response();
        }
    }
    page(&ws, lang, minijinja::context! { sent => true })
}

pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let ws = match super::pages::open_workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    match s.store.portal_login(ws.id, &token).await {
        Ok(Some(session)) => {
            let cookie = format!(
                "{COOKIE}={session}; Path=/p/{slug}/portal; Max-Age={}; {}; SameSite=Lax",
                crate::store::portal::SESSION_TTL_MS / 1000,
                s.site.cookie_flags()
            );
            (
                [(header::SET_COOKIE, cookie)],
                Redirect::to(&format!("/p/{slug}/portal")),
            )
                .into_response()
        }
        Ok(None) => {
            let lang = super::pages::lang_of(None, &headers);
            let mut r = page(
                &ws,
                lang,
                minijinja::context! { error => crate::i18n::text(lang, "portal-invalid", &[]) },
            );
            *r.status_mut() = StatusCode::GONE;
            r
        }
        Err(e) => AppError::from(e).into_response(),
    }
}

pub async fn logout(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ws = match super::pages::open_workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    if let Some(sess) = session_of(&headers) {
        let _ = s.store.portal_logout(ws.id, &sess).await;
    }
    let cookie = format!(
        "{COOKIE}=; Path=/p/{slug}/portal; Max-Age=0; {}; SameSite=Lax",
        s.site.cookie_flags()
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&format!("/p/{slug}/portal")),
    )
        .into_response()
}

/// The monthly time report of the customer's client (`?month=2026-11`):
/// its tickets with the time spent and the subscription's balance. Only
/// the clients the signed-in address's contact belongs to; none is 404.
pub async fn report(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<ReportQuery>,
    headers: HeaderMap,
) -> Response {
    let ws = match super::pages::open_workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let lang = super::pages::lang_of(q.lang.as_deref(), &headers);
    let allowed = match s.svc.plans.standing(&s.store, ws.id).await {
        Ok(st) => st.allows(Feature::TimeTracking),
        Err(e) => return e.into_response(),
    };
    if !allowed {
        return super::pages::not_found();
    }
    let email = match session_of(&headers) {
        Some(sess) => s.store.portal_session(ws.id, &sess).await.ok().flatten(),
        None => None,
    };
    let Some(email) = email else {
        return Redirect::to(&format!("/p/{slug}/portal?lang={lang}")).into_response();
    };
    let now = crate::store::now_ms();
    let (month, fault) = match q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => match Month::parse("month", m) {
            Ok(m) => (m, false),
            Err(_) => (Month::of(now), true),
        },
        None => (Month::of(now), false),
    };
    let reports = match s.svc.portal_reports(ws.id, &email, month).await {
        Ok(r) => r,
        Err(e) => return AppError::from(e).into_response(),
    };
    if reports.is_empty() {
        return super::pages::not_found();
    }
    let t = |k: &str| crate::i18n::text(lang, &format!("portal-{k}"), &[]);
    let hm = crate::http::console::hm;
    let clients: Vec<_> = reports
        .iter()
        .map(|r| {
            let tickets: Vec<_> = r
                .tickets
                .iter()
                .map(|k| minijinja::context! { number => k.number, subject => k.subject, urgent => k.urgent, time => hm(k.minutes), billable => hm(k.billable_minutes) })
                .collect();
            minijinja::context! {
                name => r.client.name, tickets, total => hm(r.total_minutes), billable => hm(r.billable_minutes),
                subscription => r.client.work_type == WorkType::Subscription,
                included => hm(r.client.included_minutes),
                used => hm(r.bill.included_used_minutes + r.bill.regular_charged_minutes),
                balance => r.bill.balance_minutes.map(hm),
            }
        })
        .collect();
    let texts = minijinja::context! {
        title => t("report-title"), month_label => t("report-month"), show => t("report-show"),
        ticket => t("report-ticket"), time => t("time-spent"), billable => t("report-billable"),
        total => t("report-total"), included => t("report-included"), used => t("report-used"),
        balance => t("report-balance"), none => t("report-none"), urgent => t("urgent"),
        back => t("report-back"), error => t("report-bad-month"),
    };
    let mut r = super::pages::render(
        "portal_report.html",
        minijinja::context! {
            lang, dir => crate::i18n::dir(lang), workspace => ws.name, r => texts, email, clients,
            month => month.to_string(), fault, back => format!("/p/{slug}/portal?lang={lang}"),
        },
    );
    if fault {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}
