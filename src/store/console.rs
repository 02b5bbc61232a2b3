//! What the agent console keeps: sign-in sessions, invitations, canned
//! answers, the label catalogue, mention notifications, snoozes and the
//! counts beside each inbox view.

use serde::Serialize;

use super::people::audit;
use super::query::Sql;
use super::*;
use crate::domain::event::{change, Event, EventActor, EventType, NewEvent};
use crate::domain::{Actor, Role, Status, TicketScope};

/// A console session lasts this long after its last use.
pub const SESSION_IDLE_MS: i64 = 14 * 24 * 3600 * 1000;
/// An invitation link works this long.
pub const INVITE_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// Counts beside inbox views stop here ("999+"): an exact count of a
/// million rows would cost more than the whole rest of the page.
pub const COUNT_CAP: i64 = 1000;

/// The signed-in agent behind a console request.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub actor: Actor,
    pub name: String,
    pub email: String,
    pub lang: String,
    /// IANA name; empty: the browser's.
    pub time_zone: String,
    pub csrf: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Invite {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub teams_only: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Canned {
    pub id: i64,
    pub shortcut: String,
    pub body: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Label {
    pub id: i64,
    pub name: String,
    pub color: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notification {
    pub id: i64,
    pub ticket_id: i64,
    pub ticket_number: i64,
    pub subject: String,
    pub author: String,
    pub body: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// A contact with everything the ticket sidebar shows.
#[derive(Debug, Clone, Serialize)]
pub struct ContactDetails {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub attributes: serde_json::Value,
    pub identities: Vec<(String, String)>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    user_id: i64,
    workspace_id: i64,
    role: String,
    ticket_scope: String,
    name: String,
    email: String,
    lang: String,
    time_zone: String,
    csrf: String,
    last_seen_at: i64,
}

#[derive(sqlx::FromRow)]
struct InviteRow {
    id: i64,
    email: String,
    role: String,
    teams_only: i64,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct InviteLookup {
    #[sqlx(flatten)]
    invite: InviteRow,
    workspace_id: i64,
    workspace_name: String,
}

impl From<InviteRow> for Invite {
    fn from(r: InviteRow) -> Invite {
        Invite {
            id: r.id,
            email: r.email,
            role: r.role,
            teams_only: r.teams_only != 0,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
        }
    }
}

/// A hash of a secret handed to a browser; only the hash is stored.
fn hashed(secret: &str) -> String {
    crate::auth::token_hash(secret)
}

impl Store {
    /// Opens a session for a user: (cookie secret, CSRF token).
    pub async fn create_session(&self, workspace_id: i64, user_id: i64) -> Result<String> {
        let now = now_ms();
        let secret = crate::auth::new_secret();
        let csrf = crate::auth::new_secret();
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO agent_sessions (workspace_id, user_id, token_hash, csrf, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)")
            .bind(workspace_id)
            .bind(user_id)
            .bind(hashed(&secret))
            .bind(&csrf)
            .bind(now)
            .bind(now + SESSION_IDLE_MS)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM agent_sessions WHERE user_id = $1 AND expires_at < $2")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            workspace_id,
            Some(user_id),
            "session.created",
            "user",
            Some(user_id),
            "{}",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// The live session a cookie names, with its user (who must be active).
    pub async fn session(&self, secret: &str) -> Result<Option<Session>> {
        let now = now_ms();
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.id, u.id AS user_id, u.workspace_id, u.role, u.ticket_scope, u.name, u.email, u.lang, u.time_zone, s.csrf, s.last_seen_at \
             FROM agent_sessions s JOIN users u ON u.id = s.user_id AND u.workspace_id = s.workspace_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1",
        )
        .bind(hashed(secret))
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
        let Some(SessionRow {
            id,
            user_id,
            workspace_id,
            role,
            ticket_scope: scope,
            name,
            email,
            lang,
            time_zone,
            csrf,
            last_seen_at: seen,
        }) = row
        else {
            return Ok(None);
        };
        // Sliding expiry, written at most once an hour rather than on
        // every page.
        if now - seen > 3600 * 1000 {
            sqlx::query("UPDATE agent_sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3")
                .bind(now)
                .bind(now + SESSION_IDLE_MS)
                .bind(id)
                .execute(&self.write)
                .await?;
        }
        let actor = self.actor_of(user_id, workspace_id, &role, &scope).await?;
        Ok(Some(Session {
            id,
            actor,
            name,
            email,
            lang,
            time_zone,
            csrf,
        }))
    }

    pub async fn delete_session(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM agent_sessions WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Sets a new password hash after the caller checked the old one, and
    /// signs out every other session of the user.
    pub async fn change_password(&self, s: &Session, new_hash: &str) -> Result<()> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND workspace_id = $3")
            .bind(new_hash)
            .bind(s.actor.user_id)
            .bind(s.actor.workspace_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM agent_sessions WHERE user_id = $1 AND id <> $2")
            .bind(s.actor.user_id)
            .bind(s.id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            s.actor.workspace_id,
            Some(s.actor.user_id),
            "user.password_changed",
            "user",
            Some(s.actor.user_id),
            "{}",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn user_password_hash(&self, workspace_id: i64, user_id: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 AND workspace_id = $2")
                .bind(user_id)
                .bind(workspace_id)
                .fetch_optional(&self.read)
                .await?
                .flatten(),
        )
    }

    pub async fn set_user_time_zone(&self, workspace_id: i64, user_id: i64, tz: &str) -> Result<()> {
        sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2 AND workspace_id = $3")
            .bind(tz)
            .bind(user_id)
            .bind(workspace_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn set_user_lang(&self, workspace_id: i64, user_id: i64, lang: &str) -> Result<()> {
        sqlx::query("UPDATE users SET lang = $1 WHERE id = $2 AND workspace_id = $3")
            .bind(lang)
            .bind(user_id)
            .bind(workspace_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// An admin changes an agent's role, reach or whether they may sign
    /// in. The last active admin cannot be demoted or deactivated, or
    /// nobody could manage the workspace.
    pub async fn update_user(
        &self,
        by: &Actor,
        user_id: i64,
        role: Role,
        teams_only: bool,
        active: bool,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let found: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND workspace_id = $2")
            .bind(user_id)
            .bind(by.workspace_id)
            .fetch_optional(&mut *tx)
            .await?;
        let current = found.ok_or(StoreError::NotFound)?;
        if current == "admin" && (role != Role::Admin || !active) {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE workspace_id = $1 AND role = 'admin' AND active = 1 AND id <> $2",
            )
            .bind(by.workspace_id)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            if admins == 0 {
                return Err(StoreError::Conflict(
                    "the workspace needs at least one active admin".into(),
                ));
            }
        }
        sqlx::query("UPDATE users SET role = $1, ticket_scope = $2, active = $3 WHERE id = $4 AND workspace_id = $5")
            .bind(role.as_str())
            .bind(if teams_only { "teams" } else { "all" })
            .bind(active as i64)
            .bind(user_id)
            .bind(by.workspace_id)
            .execute(&mut *tx)
            .await?;
        if !active {
            sqlx::query("DELETE FROM agent_sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        let data = serde_json::json!({ "role": role.as_str(), "teams_only": teams_only, "active": active }).to_string();
        audit(
            &mut tx,
            by.workspace_id,
            Some(by.user_id),
            "user.updated",
            "user",
            Some(user_id),
            &data,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove_team_member(&self, by: &Actor, team_id: i64, user_id: i64) -> Result<()> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM team_members WHERE workspace_id = $1 AND team_id = $2 AND user_id = $3")
            .bind(by.workspace_id)
            .bind(team_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            by.workspace_id,
            Some(by.user_id),
            "team.member_removed",
            "team",
            Some(team_id),
            &serde_json::json!({ "user_id": user_id }).to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates an invitation and returns the secret for its link.
    pub async fn create_invite(
        &self,
        by: &Actor,
        email: &crate::domain::Email,
        role: Role,
        teams_only: bool,
    ) -> Result<String> {
        let now = now_ms();
        let secret = crate::auth::new_secret();
        let mut tx = self.write.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE workspace_id = $1 AND email = $2")
            .bind(by.workspace_id)
            .bind(email.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(
                "a user with this e-mail exists in the workspace".into(),
            ));
        }
        let id: i64 = sqlx::query_scalar("INSERT INTO invites (workspace_id, token_hash, email, role, teams_only, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
            .bind(by.workspace_id)
            .bind(hashed(&secret))
            .bind(email.as_str())
            .bind(role.as_str())
            .bind(teams_only as i64)
            .bind(by.user_id)
            .bind(now)
            .bind(now + INVITE_TTL_MS)
            .fetch_one(&mut *tx)
            .await?;
        audit(
            &mut tx,
            by.workspace_id,
            Some(by.user_id),
            "invite.created",
            "invite",
            Some(id),
            &serde_json::json!({ "email": email.as_str() }).to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    pub async fn list_invites(&self, workspace_id: i64) -> Result<Vec<Invite>> {
        let rows: Vec<InviteRow> = sqlx::query_as("SELECT id, email, role, teams_only, created_at, expires_at, used_at FROM invites WHERE workspace_id = $1 ORDER BY id DESC LIMIT 100").bind(workspace_id).fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(Invite::from).collect())
    }

    /// An unused, unexpired invitation: (invite, workspace name).
    pub async fn invite(&self, secret: &str) -> Result<Option<(i64, Invite, String)>> {
        let row: Option<InviteLookup> = sqlx::query_as(
            "SELECT i.id, i.email, i.role, i.teams_only, i.created_at, i.expires_at, i.used_at, i.workspace_id, w.name AS workspace_name \
             FROM invites i JOIN workspaces w ON w.id = i.workspace_id WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2",
        )
        .bind(hashed(secret))
        .bind(now_ms())
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| (r.workspace_id, r.invite.into(), r.workspace_name)))
    }

    /// Turns an invitation into a user, once.
    pub async fn accept_invite(&self, secret: &str, name: &str, password_hash: &str) -> Result<User> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let row: Option<(i64, i64, String, String, i64, Option<i64>)> = sqlx::query_as("SELECT id, workspace_id, email, role, teams_only, created_by FROM invites WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
            .bind(hashed(secret))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let (id, ws, email, role, teams_only, by) = row.ok_or(StoreError::NotFound)?;
        let used = sqlx::query("UPDATE invites SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        let new = NewUser {
            email: crate::domain::Email::parse("email", &email)?,
            name: name.to_string(),
            role: Role::parse("role", &role)?,
            teams_only: teams_only != 0,
            password_hash: Some(password_hash.to_string()),
        };
        let user = super::people::insert_user(&mut tx, ws, &new, now).await?;
        audit(&mut tx, ws, by, "invite.accepted", "user", Some(user.id), "{}", now).await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn canned_answers(&self, workspace_id: i64) -> Result<Vec<Canned>> {
        Ok(
            sqlx::query_as("SELECT id, shortcut, body FROM canned_answers WHERE workspace_id = $1 ORDER BY shortcut")
                .bind(workspace_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// Creates a canned answer, or replaces the one with the same shortcut.
    pub async fn save_canned(&self, by: &Actor, id: Option<i64>, shortcut: &str, body: &str) -> Result<()> {
        let now = now_ms();
        let r = match id {
            Some(id) => sqlx::query("UPDATE canned_answers SET shortcut = $1, body = $2, updated_at = $3 WHERE id = $4 AND workspace_id = $5")
                .bind(shortcut)
                .bind(body)
                .bind(now)
                .bind(id)
                .bind(by.workspace_id)
                .execute(&self.write)
                .await
                .map_err(|e| conflict_on_unique(e, "another canned answer has this shortcut"))?,
            None => sqlx::query("INSERT INTO canned_answers (workspace_id, shortcut, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
                .bind(by.workspace_id)
                .bind(shortcut)
                .bind(body)
                .bind(now)
                .execute(&self.write)
                .await
                .map_err(|e| conflict_on_unique(e, "a canned answer with this shortcut exists"))?,
        };
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn delete_canned(&self, by: &Actor, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM canned_answers WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(by.workspace_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The workspace's labels: those defined, and those only used on
    /// tickets (set through the API or a rule) with id 0, so they can be
    /// found and defined too.
    pub async fn labels(&self, workspace_id: i64) -> Result<Vec<Label>> {
        Ok(sqlx::query_as(
            "SELECT id, name, color FROM labels WHERE workspace_id = $1 \
             UNION ALL \
             SELECT CAST(0 AS BIGINT), label, '#94a3b8' FROM ticket_labels WHERE workspace_id = $1 \
             AND label NOT IN (SELECT name FROM labels WHERE workspace_id = $1) GROUP BY label \
             ORDER BY name",
        )
        .bind(workspace_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn create_label(&self, by: &Actor, name: &str, color: &str) -> Result<()> {
        sqlx::query("INSERT INTO labels (workspace_id, name, color, created_at) VALUES ($1, $2, $3, $4)")
            .bind(by.workspace_id)
            .bind(name)
            .bind(color)
            .bind(now_ms())
            .execute(&self.write)
            .await
            .map_err(|e| conflict_on_unique(e, "a label with this name exists"))?;
        Ok(())
    }

    pub async fn delete_label(&self, by: &Actor, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM labels WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(by.workspace_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records that `mentioned` agents were named in a note; returns those
    /// who exist, are active, may see the ticket and are not the author.
    /// Notifies the agents named in a note who may see its ticket (not its
    /// author), inside the note's transaction; returns who was told.
    pub(super) async fn mention_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        author: &Actor,
        ticket: &Ticket,
        message_id: i64,
        mentioned: &[i64],
        ev: &mut Vec<NewEvent>,
    ) -> Result<Vec<i64>> {
        let now = now_ms();
        let mut out = Vec::new();
        for &uid in mentioned.iter().filter(|u| **u != author.user_id) {
            if out.contains(&uid) {
                continue;
            }
            if !self
                .notify_in(tx, ticket, uid, Some(message_id), Some(author.user_id), now)
                .await?
            {
                continue;
            }
            ev.push(
                NewEvent::new(
                    author.workspace_id,
                    EventType::MentionCreated,
                    EventActor::Agent(author.user_id),
                )
                .ticket(ticket.id)
                .message(message_id)
                .changes(serde_json::json!({ "user_id": uid, "number": ticket.number })),
            );
            out.push(uid);
        }
        Ok(out)
    }

    /// Notifies agent `uid` of a ticket, inside the caller's transaction, if
    /// they are active in its workspace and may see it. Returns whether.
    pub(super) async fn notify_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        ticket: &Ticket,
        uid: i64,
        message_id: Option<i64>,
        author_id: Option<i64>,
        now: i64,
    ) -> Result<bool> {
        let ws = ticket.workspace_id;
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT role, ticket_scope FROM users WHERE id = $1 AND workspace_id = $2 AND active = 1")
                .bind(uid)
                .bind(ws)
                .fetch_optional(&mut **tx)
                .await?;
        let Some((role, scope)) = row else { return Ok(false) };
        if !self.actor_of(uid, ws, &role, &scope).await?.can_see(ticket.access()) {
            return Ok(false);
        }
        sqlx::query("INSERT INTO notifications (workspace_id, user_id, ticket_id, message_id, author_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(ws)
            .bind(uid)
            .bind(ticket.id)
            .bind(message_id)
            .bind(author_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        Ok(true)
    }

    pub async fn notifications(&self, actor: &Actor, limit: i64) -> Result<Vec<Notification>> {
        Ok(sqlx::query_as(
            "SELECT n.id, n.ticket_id, t.number AS ticket_number, t.subject, COALESCE(u.name, '') AS author, COALESCE(m.body, '') AS body, n.created_at, n.read_at \
             FROM notifications n JOIN tickets t ON t.id = n.ticket_id LEFT JOIN users u ON u.id = n.author_id LEFT JOIN messages m ON m.id = n.message_id \
             WHERE n.user_id = $1 AND n.workspace_id = $2 ORDER BY n.id DESC LIMIT $3",
        )
        .bind(actor.user_id)
        .bind(actor.workspace_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn unread_notifications(&self, actor: &Actor) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE user_id = $1 AND read_at IS NULL LIMIT 100) x",
        )
        .bind(actor.user_id)
        .fetch_one(&self.read)
        .await?)
    }

    /// Marks as read the notifications of one ticket, or all.
    pub async fn read_notifications(&self, actor: &Actor, ticket_id: Option<i64>) -> Result<()> {
        let mut sql = Sql::new("UPDATE notifications SET read_at = ");
        let now = sql.arg(now_ms());
        let u = sql.arg(actor.user_id);
        sql.push(&format!("{now} WHERE user_id = {u} AND read_at IS NULL"));
        if let Some(t) = ticket_id {
            let t = sql.arg(t);
            sql.push(&format!(" AND ticket_id = {t}"));
        }
        sql.query().execute(&self.write).await?;
        Ok(())
    }

    /// A ticket by its number, if the actor may see it.
    pub async fn ticket_by_number(&self, actor: &Actor, number: i64) -> Result<Ticket> {
        let id: i64 = sqlx::query_scalar("SELECT id FROM tickets WHERE workspace_id = $1 AND number = $2")
            .bind(actor.workspace_id)
            .bind(number)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.ticket(actor, id).await
    }

    pub async fn contact_details(&self, workspace_id: i64, id: i64) -> Result<ContactDetails> {
        let (name, email, attributes): (String, Option<String>, String) =
            sqlx::query_as("SELECT name, email, attributes FROM contacts WHERE id = $1 AND workspace_id = $2")
                .bind(id)
                .bind(workspace_id)
                .fetch_optional(&self.read)
                .await?
                .ok_or(StoreError::NotFound)?;
        let identities: Vec<(String, String)> = sqlx::query_as(
            "SELECT channel, value FROM contact_identities WHERE contact_id = $1 AND workspace_id = $2 ORDER BY id",
        )
        .bind(id)
        .bind(workspace_id)
        .fetch_all(&self.read)
        .await?;
        Ok(ContactDetails {
            id,
            name,
            email,
            attributes: serde_json::from_str(&attributes).unwrap_or_default(),
            identities,
        })
    }

    /// Up to `COUNT_CAP` tickets the actor may see in each view, counted
    /// together in one statement.
    pub async fn view_counts(&self, actor: &Actor) -> Result<[i64; 5]> {
        let mut sql = Sql::new("SELECT ");
        let ws = sql.arg(actor.workspace_id);
        let me = sql.arg(actor.user_id);
        let cap = sql.arg(COUNT_CAP);
        let scope = match (&actor.scope, actor.is_admin()) {
            (TicketScope::Teams(teams), false) if teams.is_empty() => format!(" AND assignee_id = {me}"),
            (TicketScope::Teams(teams), false) => format!(
                " AND (assignee_id = {me} OR team_id IN ({}))",
                sql.list(teams.iter().copied())
            ),
            _ => String::new(),
        };
        let views = [
            format!("assignee_id = {me} AND status = 'open'"),
            "assignee_id IS NULL AND status = 'open'".to_string(),
            "status = 'open'".to_string(),
            "status = 'pending'".to_string(),
            "status = 'resolved'".to_string(),
        ];
        let parts: Vec<String> = views.iter().map(|v| format!("(SELECT COUNT(*) FROM (SELECT 1 FROM tickets WHERE workspace_id = {ws} AND spam = 0 AND {v}{scope} LIMIT {cap}) x)")).collect();
        sql.push(&parts.join(", "));
        let row: (i64, i64, i64, i64, i64) = sql.query_as().fetch_one(&self.read).await?;
        Ok([row.0, row.1, row.2, row.3, row.4])
    }

    /// Reopens snoozed tickets whose time has come; returns them so the
    /// caller can tell the inboxes. Safe to run on every node at once: each
    /// ticket is claimed by a conditional update.
    pub async fn wake_snoozed(&self) -> Result<Vec<Event>> {
        let now = now_ms();
        let due: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, workspace_id FROM tickets WHERE snoozed_until IS NOT NULL AND snoozed_until <= $1 LIMIT 500",
        )
        .bind(now)
        .fetch_all(&self.read)
        .await?;
        let mut woken = Vec::new();
        for (id, ws) in due {
            let mut tx = self.write.begin().await?;
            let was: Option<String> = sqlx::query_scalar("SELECT status FROM tickets WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let r = sqlx::query("UPDATE tickets SET snoozed_until = NULL, status = CASE WHEN status = 'pending' THEN 'open' ELSE status END, updated_at = $1 WHERE id = $2 AND snoozed_until IS NOT NULL AND snoozed_until <= $1")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let mut ev = Vec::new();
            if r.rows_affected() == 1 {
                sqlx::query("INSERT INTO messages (workspace_id, ticket_id, kind, author_type, body, created_at) VALUES ($1, $2, 'event', 'system', 'Snooze ended; the ticket is open again', $3)").bind(ws).bind(id).bind(now).execute(&mut *tx).await?;
                let mut changes = serde_json::json!({ "snoozed_until": change("due", None::<String>) });
                if was.as_deref() == Some(Status::Pending.as_str()) {
                    changes["status"] = change(Status::Pending, Status::Open);
                }
                ev.push(
                    NewEvent::new(ws, EventType::TicketUpdated, EventActor::System)
                        .ticket(id)
                        .changes(changes),
                );
            }
            woken.extend(self.commit_with(tx, ev).await?);
        }
        Ok(woken)
    }

    /// How far the visitor has read a chat (message id).
    pub async fn visitor_read_up_to(&self, ticket_id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT visitor_read_up_to FROM tickets WHERE id = $1")
                .bind(ticket_id)
                .fetch_optional(&self.read)
                .await?
                .unwrap_or(0),
        )
    }
}
