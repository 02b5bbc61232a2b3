//! Self-service sign-up for a new store (`serve --signup`; off by default,
//! then both routes answer 404): a page and its form, which make a
//! workspace on the default plan (or on none) with its first admin.
//! Slow on purpose: a few sign-ups per address, then one per ten minutes.

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::public_page;
use super::Addr;
use crate::app::AppState;

fn off() -> Response {
    crate::error::AppError::not_found("page").into_response()
}

pub async fn page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if !s.site.signup {
        return off();
    }
    public_page(
        &s.site,
        &headers,
        "console_signup.html",
        StatusCode::OK,
        minijinja::context! {},
    )
}

#[derive(Deserialize)]
pub struct SignUp {
    #[serde(default)]
    workspace: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn submit(State(s): State<AppState>, addr: Addr, headers: HeaderMap, Form(f): Form<SignUp>) -> Response {
    if !s.site.signup {
        return off();
    }
    if let Err(e) = s.limits.signups.check(
        addr.0.ip(),
        "signups",
        "too many sign-ups from your address; try again later",
    ) {
        return e.into_response();
    }
    match s
        .svc
        .create_hosted_workspace(&f.workspace, &f.email, Some(f.password.clone()), None)
        .await
    {
        Ok(_) => Redirect::to("/login").into_response(),
        Err(e) => public_page(
            &s.site,
            &headers,
            "console_signup.html",
            StatusCode::UNPROCESSABLE_ENTITY,
            minijinja::context! { error => e.message, workspace => f.workspace, email => f.email },
        ),
    }
}
