//! A workspace's own mail settings: the address customers know, a relay of
//! its own, and an IMAP mailbox to poll when its mail lives elsewhere.

use serde::{Deserialize, Serialize};

use super::*;
use crate::domain::{Email, Invalid};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// The store's own support address (e.g. `help@acme.test`), used as From
    /// and for mail fetched by IMAP. Empty: `SLUG@DOMAIN`.
    pub address: String,
    /// `smtp://[user:pass@]host:port?tls=...` for this workspace's mail; empty: the global relay.
    pub relay: String,
    /// Language of the mails storedesk writes (confirmations): en, ru, uk, fa.
    pub language: String,
    pub imap: Option<ImapSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    /// "tls" (implicit, port 993), "starttls" or "none" (tests, local servers).
    pub tls: String,
    pub user: String,
    pub password: String,
    #[serde(default = "inbox")]
    pub folder: String,
    /// Where fetched mail is moved; empty: it is only marked \Seen.
    #[serde(default)]
    pub move_to: String,
}

fn inbox() -> String {
    "INBOX".into()
}

impl MailSettings {
    pub fn validate(&self) -> Result<(), Invalid> {
        if !self.address.is_empty() {
            Email::parse("address", &self.address)?;
        }
        if !self.relay.is_empty() {
            self.relay
                .parse::<crate::mail::Relay>()
                .map_err(|e| Invalid::new("relay", e))?;
        }
        if !self.language.is_empty() && !crate::i18n::LANGS.contains(&self.language.as_str()) {
            return Err(Invalid::new("language", "must be one of en, ru, uk, fa"));
        }
        if let Some(i) = &self.imap {
            if i.host.trim().is_empty() || i.user.is_empty() {
                return Err(Invalid::new("imap", "host and user are required"));
            }
            if !matches!(i.tls.as_str(), "tls" | "starttls" | "none") {
                return Err(Invalid::new("imap.tls", "must be tls, starttls or none"));
            }
            if i.folder.trim().is_empty() {
                return Err(Invalid::new("imap.folder", "must not be empty"));
            }
        }
        Ok(())
    }

    /// The address the workspace's mail comes from: its own, else the
    /// built-in `SLUG@DOMAIN`.
    pub fn sender(&self, slug: &str, domain: &str) -> String {
        if self.address.is_empty() {
            format!("{slug}@{domain}")
        } else {
            self.address.clone()
        }
    }

    /// Takes the stored secrets back where the form or the request sent
    /// what GET showed (the masked relay, the masked IMAP password).
    pub fn keep_secrets(&mut self, stored: &MailSettings) {
        let shown = stored.redacted();
        if !self.relay.is_empty() && self.relay == shown.relay {
            self.relay = stored.relay.clone();
        }
        if let (Some(i), Some(old)) = (&mut self.imap, &stored.imap) {
            if i.password == "********" {
                i.password = old.password.clone();
            }
        }
    }

    /// The same settings with secrets hidden, for showing.
    pub fn redacted(&self) -> Self {
        let mut s = self.clone();
        if let Some(i) = &mut s.imap {
            i.password = "********".into();
        }
        if let Ok(r) = s.relay.parse::<crate::mail::Relay>() {
            if r.credentials.is_some() {
                s.relay = format!("{r:?}");
            }
        }
        s
    }
}

impl Store {
    pub async fn mail_settings(&self, workspace_id: i64) -> Result<MailSettings> {
        let raw: Option<String> = sqlx::query_scalar("SELECT mail FROM workspace_settings WHERE workspace_id = $1")
            .bind(workspace_id)
            .fetch_optional(&self.read)
            .await?;
        match raw {
            Some(r) => serde_json::from_str(&r).map_err(|e| StoreError::Corrupt(format!("mail settings: {e}"))),
            None => Ok(MailSettings::default()),
        }
    }

    pub async fn save_mail_settings(&self, workspace_id: i64, s: &MailSettings, by: i64) -> Result<()> {
        let now = now_ms();
        let json = serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO workspace_settings (workspace_id, widget, mail, updated_at) VALUES ($1, '{}', $2, $3) ON CONFLICT (workspace_id) DO UPDATE SET mail = excluded.mail, updated_at = excluded.updated_at")
            .bind(workspace_id)
            .bind(&json)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let shown = serde_json::to_string(&s.redacted()).unwrap_or_default();
        super::people::audit(
            &mut tx,
            workspace_id,
            Some(by),
            "mail_settings.updated",
            "workspace",
            Some(workspace_id),
            &shown,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every workspace that has an IMAP mailbox to poll.
    pub async fn imap_mailboxes(&self) -> Result<Vec<(Workspace, MailSettings)>> {
        let rows: Vec<(i64, String, String, i64, String)> = sqlx::query_as("SELECT w.id, w.slug, w.name, w.created_at, s.mail FROM workspaces w JOIN workspace_settings s ON s.workspace_id = w.id WHERE s.mail LIKE '%\"imap\":{%'")
            .fetch_all(&self.read)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, slug, name, created_at, mail)| {
                let m: MailSettings = serde_json::from_str(&mail).ok()?;
                m.imap.as_ref()?;
                Some((
                    Workspace {
                        id,
                        slug,
                        name,
                        created_at,
                    },
                    m,
                ))
            })
            .collect())
    }
}
