//! Server-rendered pages: templates compiled into the binary (minijinja,
//! HTML-escaped because their names end in `.html`).

use std::sync::OnceLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut e = Environment::new();
        // Versioned addresses of our scripts and styles, cached for a year.
        e.add_global("assets", super::assets::urls());
        e.add_template("ticket.html", include_str!("../../templates/ticket.html")).expect("ticket.html parses");
        e.add_template("portal.html", include_str!("../../templates/portal.html")).expect("portal.html parses");
        e.add_template("portal_report.html", include_str!("../../templates/portal_report.html")).expect("portal_report.html parses");
        e.add_template("form.html", include_str!("../../templates/form.html")).expect("form.html parses");
        e.add_template("survey.html", include_str!("../../templates/survey.html")).expect("survey.html parses");
        e.add_template("verify.html", include_str!("../../templates/verify.html")).expect("verify.html parses");
        e.add_template("kb_base.html", include_str!("../../templates/kb_base.html")).expect("kb_base.html parses");
        e.add_template("kb_index.html", include_str!("../../templates/kb_index.html")).expect("kb_index.html parses");
        e.add_template("kb_article.html", include_str!("../../templates/kb_article.html")).expect("kb_article.html parses");
        macro_rules! console {
            ($($name:literal),+) => { $(e.add_template($name, include_str!(concat!("../../templates/", $name))).expect($name);)+ };
        }
        console!(
            "console_base.html",
            "console_public.html",
            "console_login.html",
            "console_signup.html",
            "console_invite.html",
            "console_inbox.html",
            "console_inbox_list.html",
            "console_ticket.html",
            "console_conversation.html",
            "console_settings.html",
            "console_notifications.html",
            "console_admin_base.html",
            "console_admin_agents.html",
            "console_admin_teams.html",
            "console_admin_canned.html",
            "console_admin_labels.html",
            "console_contacts.html",
            "console_contact.html",
            "console_admin_hours.html",
            "console_admin_widget.html",
            "console_admin_kb.html",
            "console_admin_kb_edit.html",
            "console_admin_outbox.html",
            "console_admin_webhooks.html",
            "console_admin_monitors.html",
            "console_admin_monitor.html",
            "status.html",
            "console_admin_messengers.html",
            "console_admin_mail.html",
            "console_admin_rules.html",
            "console_admin_rule_edit.html",
            "console_admin_macros.html",
            "console_admin_macro_edit.html",
            "console_admin_sla.html",
            "console_admin_sla_edit.html",
            "console_admin_campaigns.html",
            "console_admin_campaign_edit.html",
            "console_admin_campaign_results.html",
            "console_sla_clock.html",
            "console_reports.html",
            "console_action_rows.html",
            "console_error.html",
            "console_time_panel.html",
            "console_time_report.html",
            "console_admin_clients.html",
            "console_admin_client_edit.html",
            "console_admin_client_form.html"
        );
        e
    })
}

/// Security headers every public page gets: no third-party requests, not
/// framed, not indexed, not cached, no referrer leaking the URL's secret.
const PAGE_HEADERS: [(header::HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::HeaderName::from_static("x-robots-tag"), "noindex, nofollow"),
];

pub fn render(name: &str, ctx: minijinja::Value) -> Response {
    match env().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => (PAGE_HEADERS, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => crate::error::AppError::internal(e).into_response(),
    }
}

/// A console page: like `render`, but the browser may tell our own server
/// where a request came from, so form posts carry a real `Origin` (with
/// `no-referrer` Chromium sends `Origin: null`). Console URLs hold no
/// secrets.
pub fn render_console(name: &str, ctx: minijinja::Value) -> Response {
    let mut r = render(name, ctx);
    r.headers_mut()
        .insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    r
}

/// Public pages meant to be found (the help centre): indexable and
/// cacheable for a minute, still with no third-party requests.
pub fn render_public(name: &str, ctx: minijinja::Value) -> Response {
    match env().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => (
            [
                (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
                (header::CACHE_CONTROL, "public, max-age=60"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            ],
            html,
        )
            .into_response(),
        Err(e) => crate::error::AppError::internal(e).into_response(),
    }
}

/// A plain page for "not found", without saying what was looked for.
pub fn not_found() -> Response {
    (StatusCode::NOT_FOUND, PAGE_HEADERS, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], "<!doctype html><meta charset=utf-8><meta name=robots content=noindex><title>Not found</title><p>Not found.</p>").into_response()
}

/// A page that says what went wrong and where to go, in `lang`: for people
/// in a browser, where a JSON error would be a dead end.
pub fn error_page(status: StatusCode, lang: &str, key: &str) -> Response {
    let t = |k: &str| crate::i18n::text(lang, &format!("console-{key}-{k}"), &[]);
    let mut r = render(
        "console_error.html",
        minijinja::context! {
            lang, dir => crate::i18n::dir(lang), title => t("title"), message => t("message"),
            back => "/app", back_text => crate::i18n::text(lang, "console-error-back", &[]),
        },
    );
    *r.status_mut() = status;
    r
}

/// The language of a public page: asked for (`?lang=`), else the browser's,
/// else English.
pub fn lang_of(asked: Option<&str>, headers: &axum::http::HeaderMap) -> &'static str {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split([',', ';']).next());
    crate::i18n::pick(asked.or(accept))
}

/// What every public page does first: hold the address to its rate, and
/// find the workspace (a plain 404 page when there is none).
pub async fn open_workspace(
    s: &crate::app::AppState,
    addr: std::net::SocketAddr,
    slug: &str,
) -> Result<crate::store::Workspace, Response> {
    s.limits
        .public
        .check(addr.ip(), "public", "too many requests; wait a little")
        .map_err(IntoResponse::into_response)?;
    s.store.workspace_by_slug(slug).await.map_err(|_| not_found())
}
