//! Admin pages: agents and their roles, teams, canned answers, labels,
//! business hours and the chat widget with its embed snippet.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{back, page, Agent, Nothing, Notice, OrBack, PageError, PageResult, Posted};
use crate::app::AppState;
use crate::domain::{required_text, Email, Role};
use crate::store::console::Session;

/// Admin pages are for admins; an agent who follows a link gets a plain
/// "not allowed" answer rather than a broken page.
pub(super) fn admin_only(s: &Session) -> Result<(), PageError> {
    if s.actor.is_admin() {
        return Ok(());
    }
    let lang = crate::i18n::pick(Some(&s.lang));
    Err(crate::http::pages::error_page(axum::http::StatusCode::FORBIDDEN, lang, "admins-only").into())
}

fn admin_page(s: &Session, name: &str, section: &str, n: &Notice, ctx: minijinja::Value) -> Response {
    page(
        s,
        name,
        "admin",
        minijinja::context! { tab => section, ok => n.ok, err => n.err, ..ctx },
    )
}

async fn agents_page(s: &AppState, session: &Session, n: &Notice, link: Option<String>) -> PageResult {
    let ws = session.actor.workspace_id;
    let (users, teams, invites) =
        tokio::try_join!(s.store.list_users(ws), s.store.list_teams(ws), s.store.list_invites(ws))?;
    let now = crate::store::now_ms();
    let users: Vec<_> = users
        .iter()
        .map(|u| {
            let teams: Vec<&str> = teams.iter().filter(|t| t.member_ids.contains(&u.id)).map(|t| t.name.as_str()).collect();
            minijinja::context! { id => u.id, name => u.name, email => u.email, role => u.role.as_str(), teams_only => u.ticket_scope == "teams", active => u.active, teams, me => u.id == session.actor.user_id }
        })
        .collect();
    let invites: Vec<_> = invites
        .iter()
        .filter(|i| i.used_at.is_none() && i.expires_at > now)
        .map(|i| minijinja::context! { email => i.email, role => i.role, expires => super::when(i.expires_at) })
        .collect();
    Ok(admin_page(
        session,
        "console_admin_agents.html",
        "agents",
        n,
        minijinja::context! { users, invites, link },
    ))
}

pub async fn agents(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    agents_page(&s, &session, &n, None).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    teams_only: Option<String>,
}

/// The link is shown once, on this response; only its hash is kept.
pub async fn invite(State(s): State<AppState>, Posted(session, f): Posted<InviteForm>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/agents";
    let email = Email::parse("email", &f.email).or_back(to)?;
    let role = Role::parse("role", &f.role).unwrap_or(Role::Agent);
    s.svc.require_agent_slot(session.actor.workspace_id).await.or_back(to)?;
    let secret = s
        .store
        .create_invite(&session.actor, &email, role, f.teams_only.is_some())
        .await
        .or_back(to)?;
    let link = format!("{}/invite/{secret}", s.site.public_url);
    agents_page(&s, &session, &Notice::default(), Some(link)).await
}

#[derive(Deserialize)]
pub struct AgentForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    teams_only: Option<String>,
    #[serde(default)]
    active: Option<String>,
}

pub async fn update_agent(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Posted(session, f): Posted<AgentForm>,
) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/agents";
    let role = Role::parse("role", &f.role).or_back(to)?;
    s.store
        .update_user(&session.actor, id, role, f.teams_only.is_some(), f.active.is_some())
        .await
        .or_back(to)?;
    Ok(Redirect::to(to).into_response())
}

pub async fn teams(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    let ws = session.actor.workspace_id;
    let (teams, users) = tokio::try_join!(s.store.list_teams(ws), s.store.list_users(ws))?;
    let teams: Vec<_> = teams
        .iter()
        .map(|t| {
            let members: Vec<_> = users
                .iter()
                .filter(|u| t.member_ids.contains(&u.id))
                .map(|u| minijinja::context! { id => u.id, name => u.name })
                .collect();
            let others: Vec<_> = users
                .iter()
                .filter(|u| u.active && !t.member_ids.contains(&u.id))
                .map(|u| minijinja::context! { id => u.id, name => u.name })
                .collect();
            minijinja::context! { id => t.id, name => t.name, members, others }
        })
        .collect();
    Ok(admin_page(
        &session,
        "console_admin_teams.html",
        "teams",
        &n,
        minijinja::context! { teams },
    ))
}

#[derive(Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    name: String,
}

pub async fn create_team(State(s): State<AppState>, Posted(session, f): Posted<TeamForm>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/teams";
    let name = required_text("name", &f.name, crate::domain::ticket::NAME_MAX).or_back(to)?;
    s.store
        .create_team(session.actor.workspace_id, &name, session.actor.user_id)
        .await
        .or_back(to)?;
    Ok(Redirect::to(to).into_response())
}

#[derive(Deserialize)]
pub struct MemberForm {
    user_id: i64,
    #[serde(default)]
    action: String,
}

pub async fn team_members(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Posted(session, f): Posted<MemberForm>,
) -> PageResult {
    admin_only(&session)?;
    let r = if f.action == "remove" {
        s.store.remove_team_member(&session.actor, id, f.user_id).await
    } else {
        s.store
            .add_team_member(session.actor.workspace_id, id, f.user_id, session.actor.user_id)
            .await
    };
    r.or_back("/app/admin/teams")?;
    Ok(Redirect::to("/app/admin/teams").into_response())
}

pub async fn canned(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    let items = s.store.canned_answers(session.actor.workspace_id).await?;
    Ok(admin_page(
        &session,
        "console_admin_canned.html",
        "canned",
        &n,
        minijinja::context! { items },
    ))
}

#[derive(Deserialize)]
pub struct CannedForm {
    id: Option<String>,
    #[serde(default)]
    shortcut: String,
    #[serde(default)]
    body: String,
}

/// Shortcuts are typed after a slash, so they are one short word.
fn shortcut(raw: &str) -> Result<String, String> {
    let s = raw.trim().trim_start_matches('/').to_lowercase();
    if s.is_empty() || s.chars().count() > 40 || !s.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
        return Err("shortcut: one word of letters, digits, - or _ (at most 40)".into());
    }
    Ok(s)
}

pub async fn save_canned(State(s): State<AppState>, Posted(session, f): Posted<CannedForm>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/canned";
    let sc = shortcut(&f.shortcut).or_back(to)?;
    let body = required_text("body", &f.body, 10_000).or_back(to)?;
    let id = f.id.as_deref().filter(|v| !v.is_empty()).and_then(|v| v.parse().ok());
    s.store.save_canned(&session.actor, id, &sc, &body).await.or_back(to)?;
    Ok(Redirect::to(to).into_response())
}

pub async fn delete_canned(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let _ = s.store.delete_canned(&session.actor, id).await;
    Ok(Redirect::to("/app/admin/canned").into_response())
}

pub async fn labels(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    let items = s.store.labels(session.actor.workspace_id).await?;
    Ok(admin_page(
        &session,
        "console_admin_labels.html",
        "labels",
        &n,
        minijinja::context! { items },
    ))
}

#[derive(Deserialize)]
pub struct LabelForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    color: String,
}

fn is_color(c: &str) -> bool {
    let b = c.as_bytes();
    b.len() == 7 && b[0] == b'#' && b[1..].iter().all(u8::is_ascii_hexdigit)
}

pub async fn create_label(State(s): State<AppState>, Posted(session, f): Posted<LabelForm>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/labels";
    let labels = crate::domain::ticket::normalize_labels(&[f.name]).or_back(to)?;
    let Ok([name]) = <[String; 1]>::try_from(labels) else {
        return Err(PageError::back(to, "name: one label"));
    };
    let color = if is_color(&f.color) {
        f.color
    } else {
        "#64748b".to_string()
    };
    s.store.create_label(&session.actor, &name, &color).await.or_back(to)?;
    Ok(Redirect::to(to).into_response())
}

pub async fn delete_label(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let _ = s.store.delete_label(&session.actor, id).await;
    Ok(Redirect::to("/app/admin/labels").into_response())
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub async fn hours(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    let w = s.store.widget_settings(session.actor.workspace_id).await?;
    let days: Vec<_> = DAYS
        .iter()
        .map(|d| minijinja::context! { key => d, range => w.hours.week.get(*d).cloned().unwrap_or_default() })
        .collect();
    Ok(admin_page(
        &session,
        "console_admin_hours.html",
        "hours",
        &n,
        minijinja::context! { days, offset => w.hours.utc_offset_minutes },
    ))
}

/// Checks and stores the widget's settings from one of its forms, then
/// back to the form's page.
async fn store_widget(s: &AppState, session: &Session, w: &crate::store::chat::WidgetSettings, to: &str) -> PageResult {
    w.validate().or_back(to)?;
    s.store
        .save_widget_settings(session.actor.workspace_id, w, session.actor.user_id)
        .await
        .or_back(to)?;
    Ok(back(to, "ok", "saved"))
}

pub async fn save_hours(
    State(s): State<AppState>,
    Posted(session, f): Posted<std::collections::HashMap<String, String>>,
) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/hours";
    let mut w = s.store.widget_settings(session.actor.workspace_id).await?;
    w.hours.utc_offset_minutes = f
        .get("offset")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| PageError::back(to, "UTC offset: minutes, e.g. 120"))?;
    w.hours.week = DAYS
        .iter()
        .filter_map(|d| {
            f.get(*d)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| (d.to_string(), v.to_string()))
        })
        .collect();
    store_widget(&s, &session, &w, to).await
}

pub async fn widget(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    let ws = session.actor.workspace_id;
    let (w, workspace, refused, identity_secret) = tokio::try_join!(
        s.store.widget_settings(ws),
        s.store.workspace(ws),
        s.store.refused_origins(ws),
        s.store.identity_secret(ws)
    )?;
    let snippet = format!(
        "<script src=\"{}/widget.js\" data-workspace=\"{}\" async></script>",
        s.site.public_url, workspace.slug
    );
    let ctx = minijinja::context! {
        w => minijinja::context! { greeting => w.greeting, color => w.color, prechat_name => w.prechat_name, prechat_email => w.prechat_email, origins => w.allowed_origins.join("\n"), offline => w.offline_message },
        langs => ["ru", "uk", "fa"].iter().map(|l| {
            let t = w.texts.get(*l).cloned().unwrap_or_default();
            minijinja::context! { code => l, greeting => t.greeting, offline => t.offline_message }
        }).collect::<Vec<_>>(),
        snippet,
        identity_secret,
        choices => ["off", "optional", "required"],
        refused => refused.iter().map(|r| minijinja::context! { origin => r.origin, count => r.refused, last => super::when(r.last_at), allowable => crate::sanitize::web_link(&r.origin).is_some() }).collect::<Vec<_>>(),
    };
    Ok(admin_page(&session, "console_admin_widget.html", "widget", &n, ctx))
}

#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    action: String,
}

/// Signed identities: a new secret (the old one stops working) or off.
pub async fn widget_identity(State(s): State<AppState>, Posted(session, f): Posted<IdentityForm>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/widget";
    let secret = match f.action.as_str() {
        "rotate" => Some(crate::domain::identity::new_secret()),
        "off" => None,
        _ => {
            return Err(PageError::back(
                to,
                "choose to make a new secret or to switch signed identities off",
            ))
        }
    };
    s.store
        .set_identity_secret(session.actor.workspace_id, secret.as_deref())
        .await
        .or_back(to)?;
    Ok(back(to, "ok", "saved"))
}

#[derive(Deserialize)]
pub struct AllowOrigin {
    #[serde(default)]
    origin: String,
}

/// One click on a refused site: it joins the allowed ones.
pub async fn allow_origin(State(s): State<AppState>, Posted(session, f): Posted<AllowOrigin>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/widget";
    let mut w = s.store.widget_settings(session.actor.workspace_id).await?;
    let origin = f.origin.trim().to_string();
    if !w.allowed_origins.iter().any(|o| o.eq_ignore_ascii_case(&origin)) {
        w.allowed_origins.push(origin);
    }
    store_widget(&s, &session, &w, to).await
}

#[derive(Deserialize)]
pub struct WidgetForm {
    #[serde(default)]
    greeting: String,
    #[serde(default)]
    color: String,
    #[serde(default)]
    prechat_name: String,
    #[serde(default)]
    prechat_email: String,
    #[serde(default)]
    origins: String,
    #[serde(default)]
    offline: String,
    #[serde(default)]
    greeting_ru: String,
    #[serde(default)]
    offline_ru: String,
    #[serde(default)]
    greeting_uk: String,
    #[serde(default)]
    offline_uk: String,
    #[serde(default)]
    greeting_fa: String,
    #[serde(default)]
    offline_fa: String,
}

pub async fn save_widget(State(s): State<AppState>, Posted(session, f): Posted<WidgetForm>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/widget";
    let mut w = s.store.widget_settings(session.actor.workspace_id).await?;
    w.greeting = f.greeting.trim().to_string();
    w.color = f.color.trim().to_string();
    w.prechat_name = f.prechat_name;
    w.prechat_email = f.prechat_email;
    w.allowed_origins = f
        .origins
        .lines()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect();
    w.offline_message = f.offline.trim().to_string();
    for (lang, greeting, offline) in [
        ("ru", &f.greeting_ru, &f.offline_ru),
        ("uk", &f.greeting_uk, &f.offline_uk),
        ("fa", &f.greeting_fa, &f.offline_fa),
    ] {
        let t = crate::store::chat::WidgetTexts {
            greeting: greeting.trim().to_string(),
            offline_message: offline.trim().to_string(),
        };
        if t == Default::default() {
            w.texts.remove(lang);
        } else {
            w.texts.insert(lang.to_string(), t);
        }
    }
    store_widget(&s, &session, &w, to).await
}

#[derive(Deserialize, Default)]
pub struct OutboxQuery {
    #[serde(default)]
    show: Option<String>,
    #[serde(default)]
    before: Option<i64>,
    #[serde(flatten)]
    notice: Notice,
}

/// Every mail to customers with what became of it; failed ones can go again.
pub async fn outbox(State(s): State<AppState>, Agent(session): Agent, Query(q): Query<OutboxQuery>) -> PageResult {
    admin_only(&session)?;
    let trouble_only = q.show.as_deref() == Some("trouble");
    let filter = crate::store::outbox::OutboxFilter {
        trouble_only,
        before: q.before,
        limit: 50,
    };
    let mails = s.store.outbox_list(session.actor.workspace_id, &filter).await?;
    let next = (mails.len() == 50).then(|| mails.last().map(|m| m.id)).flatten();
    let rows: Vec<_> = mails
        .iter()
        .map(|m| {
            minijinja::context! {
                id => m.id, to => m.to, subject => m.subject, status => m.status, attempts => m.attempts,
                reason => m.last_error, created => super::when(m.created_at),
                sent => m.sent_at.map(super::when), next => m.next_attempt_at.map(super::when),
                ticket => m.ticket_number,
                again => m.status != "sent",
            }
        })
        .collect();
    let ctx = minijinja::context! { rows, trouble_only, next };
    Ok(admin_page(
        &session,
        "console_admin_outbox.html",
        "outbox",
        &q.notice,
        ctx,
    ))
}

pub async fn retry_mail(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/outbox";
    let id: i64 = id
        .parse()
        .map_err(|_| PageError::from(crate::error::AppError::not_found("mail")))?;
    s.store
        .retry_delivery(session.actor.workspace_id, id)
        .await
        .or_back(to)?;
    Ok(back(to, "ok", "queued again"))
}

/// The workspace's mail: its address and language, the relay its mail goes
/// through (with a test mail), and an IMAP mailbox to fetch from (with a
/// connection test). Secrets are shown masked and kept when sent back so.
pub async fn mail(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    let ws = session.actor.workspace_id;
    let (m, workspace) = tokio::try_join!(s.store.mail_settings(ws), s.store.workspace(ws))?;
    let m = m.redacted();
    let imap = m.imap.clone().unwrap_or(crate::store::mail_settings::ImapSettings {
        host: String::new(),
        port: 993,
        tls: "tls".into(),
        user: String::new(),
        password: String::new(),
        folder: "INBOX".into(),
        move_to: String::new(),
    });
    let ctx = minijinja::context! {
        m => minijinja::context! { address => m.address, relay => m.relay, language => m.language },
        imap => minijinja::context! { on => m.imap.is_some(), host => imap.host, port => imap.port, tls => imap.tls, user => imap.user, password => imap.password, folder => imap.folder, move_to => imap.move_to },
        support => format!("{}@{}", workspace.slug, s.site.mail_domain),
        server_relay => s.site.mail_relay.is_some(),
        langs => crate::i18n::LANGS,
        me_email => session.email,
    };
    Ok(admin_page(&session, "console_admin_mail.html", "mail", &n, ctx))
}

#[derive(Deserialize)]
pub struct MailForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    relay: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    imap_on: Option<String>,
    #[serde(default)]
    imap_host: String,
    #[serde(default)]
    imap_port: String,
    #[serde(default)]
    imap_tls: String,
    #[serde(default)]
    imap_user: String,
    #[serde(default)]
    imap_password: String,
    #[serde(default)]
    imap_folder: String,
    #[serde(default)]
    imap_move_to: String,
}

pub async fn save_mail(State(s): State<AppState>, Posted(session, f): Posted<MailForm>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/mail";
    let ws = session.actor.workspace_id;
    let stored = s.store.mail_settings(ws).await?;
    let imap = match f.imap_on {
        Some(_) => Some(crate::store::mail_settings::ImapSettings {
            host: f.imap_host.trim().to_string(),
            port: f
                .imap_port
                .trim()
                .parse()
                .map_err(|_| PageError::back(to, "the IMAP port must be a number like 993"))?,
            tls: f.imap_tls,
            user: f.imap_user.trim().to_string(),
            password: f.imap_password,
            folder: if f.imap_folder.trim().is_empty() {
                "INBOX".into()
            } else {
                f.imap_folder.trim().to_string()
            },
            move_to: f.imap_move_to.trim().to_string(),
        }),
        None => None,
    };
    let mut m = crate::store::mail_settings::MailSettings {
        address: f.address.trim().to_lowercase(),
        relay: f.relay.trim().to_string(),
        language: f.language,
        imap,
    };
    m.keep_secrets(&stored);
    m.validate().or_back(to)?;
    s.store
        .save_mail_settings(ws, &m, session.actor.user_id)
        .await
        .or_back(to)?;
    Ok(back(to, "ok", "saved"))
}

#[derive(Deserialize)]
pub struct TestMailForm {
    #[serde(default)]
    to: String,
}

pub async fn test_mail(
    State(s): State<AppState>,
    addr: super::Addr,
    Posted(session, f): Posted<TestMailForm>,
) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/mail";
    super::limited(&s, addr.0)?;
    let address = Email::parse("to", &f.to).or_back(to)?;
    match crate::http::api::mail::send_test_mail(&s, session.actor.workspace_id, &address).await {
        Ok(()) => Ok(back(to, "ok", &format!("a test mail went to {address}"))),
        Err(e) => Ok(back(to, "err", &format!("the test mail did not go: {e}"))),
    }
}

pub async fn test_imap(State(s): State<AppState>, Posted(session, _): Posted<Nothing>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/mail";
    match crate::http::api::mail::check_imap(&s, session.actor.workspace_id).await {
        Ok(n) => Ok(back(to, "ok", &format!("connected: the folder holds {n} messages"))),
        Err(e) => Ok(back(to, "err", &format!("IMAP: {e}"))),
    }
}
