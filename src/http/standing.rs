//! Public pages of a suspended workspace, or of a feature its plan leaves
//! out, are refused politely before any handler runs: a page for a
//! browser, the JSON error for the widget and scripts. Everything under
//! `/p/{slug}/` passes here; the chat socket (`/ws`) asks in its handler.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::domain::plan::Feature;

/// The feature a public path needs, if any (`rest` follows `/p/{slug}/`).
fn feature_of(rest: &str) -> Option<Feature> {
    match rest.split('/').next().unwrap_or("") {
        "chat" | "files" => Some(Feature::Chat),
        "kb" => Some(Feature::KnowledgeBase),
        _ => None,
    }
}

pub async fn public_pages(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Some((slug, rest)) = req.uri().path().strip_prefix("/p/").and_then(|p| p.split_once('/')) else {
        return next.run(req).await;
    };
    // An unknown slug is the handler's to answer (its own 404).
    let Some(ws) = s.svc.plans.workspace_id(&s.store, slug).await else {
        return next.run(req).await;
    };
    let checked = match feature_of(rest) {
        Some(f) => s.svc.require(ws, f).await,
        None => s.svc.require_active(ws).await.map(|_| ()),
    };
    let Err(e) = checked else {
        return next.run(req).await;
    };
    let wants_page = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_page {
        let lang = super::pages::lang_of(None, req.headers());
        let key = if e.code == "workspace_suspended" {
            "suspended"
        } else {
            "unavailable"
        };
        return super::pages::error_page(e.status, lang, key);
    }
    e.into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_features() {
        use super::{feature_of, Feature};
        assert_eq!(feature_of("chat/config"), Some(Feature::Chat));
        assert_eq!(feature_of("kb/en/x"), Some(Feature::KnowledgeBase));
        assert_eq!(feature_of("new"), None);
    }
}
