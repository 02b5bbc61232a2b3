//! HTTP: the route table and the layers every request passes.

pub mod api;
pub mod assets;
pub mod chat;
pub mod client_addr;
pub mod console;
pub mod csv;
pub mod estimate;
pub mod extract;
pub mod form;
pub mod helpcentre;
pub mod hooks;
pub mod limit;
pub mod meta;
pub mod origins;
pub mod pages;
pub mod portal;
pub mod private;
pub mod standing;
pub mod status_page;
pub mod stream;
pub mod surveys;
pub mod upload;
pub mod verify;
pub mod widget_events;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, options, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::error::AppError;

/// The largest request body the API reads.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    use api::{
        campaigns, channels, clients, contacts, events, kb, mail, monitors, outbox, people, reports, routing, rules,
        sla, tickets, time, webhooks, widget,
    };
    let api = Router::new()
        .route("/tickets", post(tickets::create).get(tickets::list))
        .route("/tickets/{id}", get(tickets::show).patch(tickets::update))
        .route(
            "/tickets/{id}/messages",
            post(tickets::add_message).get(tickets::messages),
        )
        .route("/tickets/{id}/merge", post(contacts::merge_tickets))
        .route("/tickets/{id}/split", post(contacts::split))
        .route("/tickets/{id}/time", get(time::show).post(time::log))
        .route(
            "/tickets/{id}/time/{entry_id}",
            axum::routing::patch(time::update).delete(time::delete),
        )
        .route("/tickets/{id}/timer", post(time::start_timer))
        .route("/tickets/{id}/timer/stop", post(time::stop_timer))
        .route("/tickets/{id}/estimate", axum::routing::put(time::estimate))
        .route("/clients", get(clients::list).post(clients::create))
        .route(
            "/clients/{id}",
            get(clients::show).patch(clients::update).delete(clients::delete),
        )
        .route("/clients/{id}/report", get(clients::report))
        .route("/clients/{id}/report.csv", get(clients::report_csv_download))
        .route("/contacts/{id}/client", axum::routing::put(clients::set_contact_client))
        .route("/reports/time", get(clients::agents))
        .route("/contacts", get(contacts::list))
        .route("/contacts/{id}", get(contacts::show).patch(contacts::update))
        .route("/contacts/{id}/merge", post(contacts::merge))
        .route("/contacts/{id}/block", post(contacts::block))
        .route("/contacts/{id}/unblock", post(contacts::unblock))
        .route("/contacts/{id}/export", get(api::privacy::export))
        .route("/contacts/{id}/erase", post(api::privacy::erase))
        .route("/me", get(people::me))
        .route("/users", get(people::list_users).post(people::create_user))
        .route("/users/{id}/tokens", post(people::create_token))
        .route("/teams", get(people::list_teams).post(people::create_team))
        .route("/teams/{id}/members", post(people::add_member))
        .route("/widget", get(widget::get).put(widget::put))
        .route(
            "/widget/identity",
            get(widget::identity)
                .post(widget::rotate_identity)
                .delete(widget::drop_identity),
        )
        .route("/mail", get(mail::get).put(mail::put))
        .route("/mail/test", post(mail::test))
        .route("/mail/imap/test", post(mail::imap_test))
        .route("/kb/articles", post(kb::create).get(kb::list))
        .route("/kb/articles/{id}", get(kb::show).patch(kb::update).delete(kb::delete))
        .route("/kb/categories", post(kb::create_category).get(kb::categories))
        .route("/kb/reports/search", get(kb::report))
        .route("/kb/synonyms", get(kb::synonyms).post(kb::add_synonyms))
        .route("/kb/synonyms/{id}", axum::routing::delete(kb::delete_synonyms))
        .route("/kb/articles/{id}/phrasings", post(kb::add_phrasing))
        .route("/kb/articles/{id}/queries", get(kb::article_queries))
        .route("/events", get(events::list))
        .route("/outbox", get(outbox::list))
        .route("/outbox/{id}/retry", post(outbox::retry))
        .route("/rules", get(rules::list).post(rules::create))
        .route(
            "/rules/{id}",
            get(rules::show).patch(rules::update).delete(rules::delete),
        )
        .route("/rules/{id}/preview", post(rules::preview))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            get(webhooks::show).patch(webhooks::update).delete(webhooks::delete),
        )
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/webhooks/{id}/deliveries/{delivery_id}/replay", post(webhooks::replay))
        .route("/campaigns", get(campaigns::list).post(campaigns::create))
        .route(
            "/campaigns/{id}",
            get(campaigns::show).patch(campaigns::update).delete(campaigns::delete),
        )
        .route("/campaigns/{id}/results", get(campaigns::results))
        .route("/monitors", get(monitors::list).post(monitors::create))
        .route(
            "/monitors/{id}",
            get(monitors::show).patch(monitors::update).delete(monitors::delete),
        )
        .route(
            "/monitor-status-page",
            get(monitors::get_status_page).put(monitors::put_status_page),
        )
        .route("/availability", get(routing::list))
        .route("/me/availability", axum::routing::put(routing::set_mine))
        .route("/me/notifications", axum::routing::put(routing::set_notifications))
        .route("/users/{id}/capacity", axum::routing::put(routing::set_capacity))
        .route("/teams/{id}/routing", axum::routing::put(routing::set_team_routing))
        .route("/tickets/{id}/queue", get(routing::queue))
        .route("/sla-policies", get(sla::list).post(sla::create))
        .route(
            "/sla-policies/{id}",
            axum::routing::patch(sla::update).delete(sla::delete),
        )
        .route("/calendar", get(sla::get_calendar).put(sla::put_calendar))
        .route(
            "/teams/{id}/calendar",
            get(sla::get_team_calendar).put(sla::put_team_calendar),
        )
        .route("/macros", get(rules::list_macros).post(rules::create_macro))
        .route(
            "/macros/{id}",
            axum::routing::put(rules::update_macro).delete(rules::delete_macro),
        )
        .route("/macros/{id}/apply", post(rules::apply_macro))
        .route("/reports/summary", get(reports::summary))
        .route("/reports/series", get(reports::series))
        .route("/reports/breakdown", get(reports::breakdown))
        .route("/reports/agents", get(reports::agents))
        .route("/reports/heatmap", get(reports::heatmap))
        .route("/reports/features", get(reports::features))
        .route(
            "/reports/settings",
            get(reports::get_settings).put(reports::put_settings),
        )
        .route("/reports/rebuild", post(reports::rebuild))
        .route(
            "/channels/telegram",
            get(channels::telegram)
                .post(channels::connect_telegram)
                .delete(channels::disconnect_telegram),
        )
        .route(
            "/channels/messenger",
            get(channels::gateways).post(channels::connect_gateway),
        )
        .route(
            "/channels/messenger/{id}",
            axum::routing::delete(channels::delete_gateway),
        )
        .route("/channels/messenger/{id}/deliveries", get(channels::gateway_deliveries))
        .route("/stream", get(stream::agent_socket))
        .route("/openapi.json", get(meta::openapi));

    let operator_api = {
        use api::operator as op;
        Router::new()
            .route("/workspaces", get(op::list).post(op::create))
            .route("/workspaces/{id}", get(op::show).delete(op::delete))
            .route("/workspaces/{id}/usage", get(op::usage))
            .route("/workspaces/{id}/suspend", post(op::suspend))
            .route("/workspaces/{id}/resume", post(op::resume))
            .route("/workspaces/{id}/plan", axum::routing::put(op::set_plan))
            .route("/workspaces/{id}/export", get(op::export))
            .route("/plans", get(op::plans).post(op::create_plan))
            .route(
                "/plans/{id}",
                axum::routing::put(op::update_plan).delete(op::delete_plan),
            )
    };

    let x_request_id = HeaderName::from_static("x-request-id");
    let app = Router::new()
        .route("/", get(home))
        .route("/healthz", get(meta::healthz))
        .route("/metrics", get(meta::metrics))
        .route("/widget.js", get(assets::widget_loader))
        .route("/static/form.js", get(|h: axum::http::HeaderMap| async move { assets::plain(&assets::FORM, &h) }))
        .route("/static/v/{hash}/{name}", get(assets::versioned))
        .route("/ws", get(chat::visitor_socket))
        .route("/p/{slug}/chat/config", get(chat::config))
        .route("/p/{slug}/chat/attachments", post(chat::upload).layer(DefaultBodyLimit::max(chat::ATTACHMENT_MAX)))
        .route("/p/{slug}/chat/attachments", options(chat::upload_preflight))
        .route("/p/{slug}/files/{id}/{secret}", get(chat::download))
        .route("/api/widget/{slug}/page", post(widget_events::page).options(widget_events::preflight).layer(DefaultBodyLimit::max(widget_events::BODY_MAX)).layer(axum::middleware::map_response(widget_events::readable_by_pages)))
        .route("/api/widget/{slug}/events", post(widget_events::events).options(widget_events::preflight).layer(DefaultBodyLimit::max(widget_events::BODY_MAX)).layer(axum::middleware::map_response(widget_events::readable_by_pages)))
        .route("/api/widget/{slug}/campaigns/{id}/{step}", post(widget_events::step).options(widget_events::preflight).layer(axum::middleware::map_response(widget_events::readable_by_pages)))
        .route("/api/widget/{slug}/identify", post(widget_events::identify).options(widget_events::preflight).layer(DefaultBodyLimit::max(widget_events::BODY_MAX)).layer(axum::middleware::map_response(widget_events::readable_by_pages)))
        .route("/p/{slug}/t/{link}", get(private::show).post(private::reply))
        .route("/p/{slug}/t/{link}/estimate", post(private::answer_estimate))
        .route("/p/{slug}/t/{link}/csat", get(surveys::csat_page).post(surveys::csat_answer))
        .route("/p/{slug}/nps/{token}", get(surveys::nps_page).post(surveys::nps_answer))
        .route("/p/{slug}/new", get(form::show).post(form::submit).layer(DefaultBodyLimit::max(form::UPLOAD_MAX + 64 * 1024)))
        .route("/p/{slug}/callback", get(form::show_callback).post(form::submit_callback))
        .route("/p/{slug}/portal", get(portal::show).post(portal::ask))
        .route("/p/{slug}/portal/login/{token}", get(portal::login))
        .route("/p/{slug}/portal/logout", post(portal::logout))
        .route("/p/{slug}/portal/report", get(portal::report))
        .route("/p/{slug}/verify/{token}", get(verify::show).post(verify::confirm))
        .route("/p/{slug}/status", get(status_page::show))
        .route("/p/{slug}/kb", get(helpcentre::index))
        .route("/p/{slug}/kb/search", get(helpcentre::search_json))
        .route("/p/{slug}/kb/contacted", post(helpcentre::contacted))
        .route("/p/{slug}/kb/sitemap.xml", get(helpcentre::sitemap))
        .route("/p/{slug}/kb/c/{lang}/{category}", get(helpcentre::category))
        .route("/p/{slug}/kb/{lang}/{article}", get(helpcentre::article))
        .route("/p/{slug}/kb/{lang}/{article}/vote", post(helpcentre::vote))
        .route("/hooks/telegram/{id}", post(hooks::telegram).layer(DefaultBodyLimit::max(hooks::BODY_MAX)))
        .route("/hooks/messenger/{id}", post(hooks::messenger).layer(DefaultBodyLimit::max(hooks::BODY_MAX)))
        .merge(console::routes())
        .nest("/api/v1", api)
        .nest("/api/operator/v1", operator_api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), standing::public_pages))
        .layer(axum::middleware::from_fn(no_nul_in_query))
        .layer(axum::middleware::from_fn(crate::telemetry::track))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| AppError::internal("a handler panicked").into_response()))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.extensions().get::<RequestId>().and_then(|r| r.header_value().to_str().ok()).unwrap_or("-").to_string();
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id, workspace_id = tracing::field::Empty)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, NextRequestId::default()))
        .layer(axum::middleware::map_response(json_errors));
    // Only behind a named proxy does a request's address need a second look.
    let app = if state.site.trusted_proxies.is_empty() {
        app
    } else {
        app.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_addr::client_addr,
        ))
    };
    app.with_state(state)
}

/// `/metrics` alone, for `--metrics-listen`.
pub fn metrics_router(mut state: AppState, site: crate::app::Site) -> Router {
    state.site = std::sync::Arc::new(site);
    Router::new()
        .route("/metrics", get(meta::metrics))
        .fallback(not_found)
        .with_state(state)
}

/// Request ids: a random prefix per process and a counter, so ids from
/// several nodes do not collide and cost no syscall.
#[derive(Clone)]
struct NextRequestId {
    prefix: u32,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for NextRequestId {
    fn default() -> Self {
        Self {
            prefix: rand::random(),
            next: Default::default(),
        }
    }
}

impl MakeRequestId for NextRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{:08x}-{n}", self.prefix).parse().ok().map(RequestId::new)
    }
}

/// Rejections from axum's own extractors (a body over the limit, a path
/// that is not UTF-8, a WebSocket request without its upgrade headers) come
/// as plain text; every error this server answers is the JSON envelope.
/// Pages keep their HTML errors.
async fn json_errors(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    if !plain {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_string(),
        t => t.to_string(),
    };
    let code = match status.as_u16() {
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "invalid",
        429 => "rate_limited",
        500..=599 => "internal",
        _ => "bad_request",
    };
    let json = AppError::new(status, code, message).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, json.into_body())
}

/// A NUL character in a query string: PostgreSQL cannot store or compare
/// text that holds one, and no parameter of ours needs it.
async fn no_nul_in_query(req: Request<axum::body::Body>, next: axum::middleware::Next) -> Response {
    if req.uri().query().is_some_and(|q| encoded_nul(q.as_bytes())) {
        return AppError::bad_request("invalid_query", "a query parameter holds a NUL character").into_response();
    }
    next.run(req).await
}

/// Whether URL-encoded text (a query, a form body) holds `%00`.
pub fn encoded_nul(text: &[u8]) -> bool {
    text.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00"))
}

/// `/`: the console (which asks to sign in first).
async fn home() -> axum::response::Redirect {
    axum::response::Redirect::to("/app")
}

/// An unknown address: a page for a browser, JSON for the API and scripts.
async fn not_found(req: Request<axum::body::Body>) -> Response {
    let wants_page = !req.uri().path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if wants_page {
        let lang = pages::lang_of(None, req.headers());
        return pages::error_page(StatusCode::NOT_FOUND, lang, "not-found");
    }
    AppError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", req.method(), req.uri().path()),
    )
    .into_response()
}

async fn method_not_allowed(req: Request<axum::body::Body>) -> Response {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
    .into_response()
}
