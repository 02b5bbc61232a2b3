//! The customer portal: sign-in by a one-time link sent by mail, then a
//! session; the customer sees every ticket of their address.

use super::*;

pub const LOGIN_TTL_MS: i64 = 30 * 60_000;
pub const SESSION_TTL_MS: i64 = 7 * 24 * 3_600_000;

impl Store {
    /// Makes a one-time sign-in link for an address that has tickets here,
    /// and queues the mail carrying it. Returns false (and sends nothing)
    /// for an unknown address or one that asked too often; the caller shows
    /// the same page either way, so addresses cannot be probed.
    pub async fn portal_request(
        &self,
        ws: &Workspace,
        email: &crate::domain::Email,
        link_base: &str,
        ttl_ms: i64,
    ) -> Result<bool> {
        let now = now_ms();
        let known: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM contact_identities WHERE workspace_id = $1 AND channel = 'email' AND value = $2",
        )
        .bind(ws.id)
        .bind(email.as_str())
        .fetch_one(&self.read)
        .await?;
        let recent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM portal_tokens WHERE workspace_id = $1 AND email = $2 AND kind = 'login' AND created_at > $3").bind(ws.id).bind(email.as_str()).bind(now - 3_600_000).fetch_one(&self.read).await?;
        if known == 0 || recent >= 5 {
            return Ok(false);
        }
        let token = crate::auth::new_token()[4..].to_string();
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO portal_tokens (workspace_id, email, kind, token_hash, expires_at, created_at) VALUES ($1, $2, 'login', $3, $4, $5)")
            .bind(ws.id)
            .bind(email.as_str())
            .bind(crate::auth::token_hash(&token))
            .bind(now + ttl_ms)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let lang = super::mail::mail_language(&mut tx, ws.id).await?;
        let url = format!("{}/p/{}/portal/login/{token}", link_base.trim_end_matches('/'), ws.slug);
        let subject = crate::i18n::text(&lang, "mail-portal-subject", &[("workspace", &ws.name)]);
        let body = crate::i18n::text(&lang, "mail-portal-body", &[("url", &url)]);
        let mail = super::mail::OutMail {
            workspace_id: ws.id,
            kind: "portal_login",
            ticket_id: None,
            message_id: None,
            to: email,
            subject: &subject,
            body: &body,
            in_reply_to: None,
        };
        super::mail::queue_in(&mut tx, &mail).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Spends a sign-in link (once, before it expires) for a session token.
    pub async fn portal_login(&self, ws: i64, token: &str) -> Result<Option<String>> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE portal_tokens SET used_at = $1 WHERE workspace_id = $2 AND token_hash = $3 AND kind = 'login' AND used_at IS NULL AND expires_at > $1")
            .bind(now)
            .bind(ws)
            .bind(crate::auth::token_hash(token))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        let email: String =
            sqlx::query_scalar("SELECT email FROM portal_tokens WHERE workspace_id = $1 AND token_hash = $2")
                .bind(ws)
                .bind(crate::auth::token_hash(token))
                .fetch_one(&mut *tx)
                .await?;
        let session = crate::auth::new_token()[4..].to_string();
        sqlx::query("INSERT INTO portal_tokens (workspace_id, email, kind, token_hash, expires_at, created_at) VALUES ($1, $2, 'session', $3, $4, $5)")
            .bind(ws)
            .bind(&email)
            .bind(crate::auth::token_hash(&session))
            .bind(now + SESSION_TTL_MS)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(session))
    }

    /// The address a live portal session belongs to.
    pub async fn portal_session(&self, ws: i64, session: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT email FROM portal_tokens WHERE workspace_id = $1 AND token_hash = $2 AND kind = 'session' AND expires_at > $3")
            .bind(ws)
            .bind(crate::auth::token_hash(session))
            .bind(now_ms())
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn portal_logout(&self, ws: i64, session: &str) -> Result<()> {
        sqlx::query("DELETE FROM portal_tokens WHERE workspace_id = $1 AND token_hash = $2 AND kind = 'session'")
            .bind(ws)
            .bind(crate::auth::token_hash(session))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Every ticket of the contacts that own this address, newest activity first.
    pub async fn tickets_of_email(&self, ws: i64, email: &str) -> Result<Vec<Ticket>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT t.id FROM tickets t WHERE t.workspace_id = $1 AND t.contact_id IN (SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND channel = 'email' AND value = $2) ORDER BY t.last_message_at DESC LIMIT 200",
        )
        .bind(ws)
        .bind(email)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.ticket_unchecked(ws, id).await?);
        }
        Ok(out)
    }
}
