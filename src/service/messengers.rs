//! Messenger channels: connecting a Telegram bot or a gateway, filing what
//! customers write there as their messages (through `open_ticket` and
//! `add_message`, as every customer message is), and what became of the
//! replies sent back.

use serde_json::{json, Value};

use super::{Services, Writer};
use crate::channels::telegram::api::{Bot, TgError};
use crate::channels::telegram::{self, Incoming};
use crate::domain::ids::{TicketId, WorkspaceId};
use crate::domain::webhook::{new_secret, parse_url};
use crate::domain::{Channel, Invalid, MessageKind, Priority};
use crate::store::messengers::{Connection, Delivery, MessengerUser, NewConnection};
use crate::store::{now_ms, Author, NewMessage, NewTicket, Result, StoreError, TicketContact};

/// A message from a gateway, as `POST /hooks/messenger/{id}` takes it.
/// Fields a provider adds beyond these are ignored.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct GatewayMessage {
    pub id: String,
    pub from: GatewaySender,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<GatewayAttachment>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct GatewaySender {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct GatewayAttachment {
    pub url: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub content_type: String,
}

/// A URL an admin or a gateway gives us, by the webhooks' rules (http or
/// https, a host, no credentials), the error naming `field`.
fn checked_url(field: &'static str, url: &str) -> Result<String, Invalid> {
    parse_url(url)
        .map(String::from)
        .map_err(|e| Invalid::new(field, e.message))
}

impl Services {
    /// Connects a workspace's Telegram bot: the token is checked with
    /// getMe (refused tokens are an invalid field), and in webhook mode
    /// Telegram is told where to post, with a secret of ours.
    pub async fn connect_telegram(
        &self,
        ws: WorkspaceId,
        token: &str,
        mode: &str,
        api_url: &str,
        public_url: &str,
    ) -> Result<Connection> {
        let token = token.trim();
        if !telegram::token_shape_ok(token) {
            return Err(Invalid::new(
                "bot_token",
                "is not a bot token (BotFather gives one like 123456:ABC-def...)",
            )
            .into());
        }
        if !matches!(mode, "polling" | "webhook") {
            return Err(Invalid::new("mode", "must be polling or webhook").into());
        }
        let bot = Bot::new(api_url, token);
        let me = bot.get_me().await.map_err(|e| match e {
            TgError::Refused { description, .. } => {
                Invalid::new("bot_token", format!("Telegram refused this token: {description}"))
            }
            TgError::Transport(e) => Invalid::new("bot_token", format!("Telegram could not check this token: {e}")),
        })?;
        let username = me["username"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(64)
            .collect::<String>();
        let secret = new_secret();
        let c = self
            .store
            .create_connection(
                ws.get(),
                NewConnection {
                    kind: "telegram",
                    name: me["first_name"]
                        .as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(100)
                        .collect(),
                    bot_token: Some(token.to_string()),
                    bot_username: Some(username),
                    api_url: Some(api_url.to_string()),
                    mode: Some(mode.to_string()),
                    secret: secret.clone(),
                    outbound_url: None,
                },
            )
            .await?;
        if mode == "webhook" {
            let url = format!("{}/hooks/telegram/{}", public_url.trim_end_matches('/'), c.id);
            if let Err(e) = bot.set_webhook(&url, &secret).await {
                self.store.delete_connection(ws.get(), "telegram", c.id).await?;
                return Err(Invalid::new("mode", format!("Telegram did not take the webhook {url}: {e}")).into());
            }
        } else if let Err(e) = bot.delete_webhook().await {
            // A webhook left from elsewhere makes getUpdates fail (409); the
            // poller says so in last_error.
            tracing::warn!(error = %e, "deleteWebhook before polling failed");
        }
        Ok(c)
    }

    /// Disconnects the workspace's bot (a webhook is taken down first).
    pub async fn disconnect_telegram(&self, ws: WorkspaceId, id: i64) -> Result<()> {
        let c = self
            .store
            .connections(ws.get(), "telegram")
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(StoreError::NotFound)?;
        if c.mode.as_deref() == Some("webhook") {
            if let Err(e) = bot_of(&c).delete_webhook().await {
                tracing::warn!(error = %e, connection = c.id, "deleteWebhook failed; the bot is disconnected anyway");
            }
        }
        self.store.delete_connection(ws.get(), "telegram", id).await
    }

    /// Adds a gateway connection with a new secret (shown once by the caller).
    pub async fn connect_gateway(&self, ws: WorkspaceId, name: &str, url: &str) -> Result<Connection> {
        let name = crate::domain::required_text("name", name, 100)?;
        let url = checked_url("outbound_url", url)?;
        // Where it points is checked as a webhook's is: public addresses
        // only unless the node allows private ones (and again at each send).
        crate::webhooks::client::check_destination(&parse_url(&url)?, self.webhooks.allow_private())
            .await
            .map_err(|why| Invalid::new("outbound_url", why))?;
        self.store
            .create_connection(
                ws.get(),
                NewConnection {
                    kind: "messenger",
                    name,
                    bot_token: None,
                    bot_username: None,
                    api_url: None,
                    mode: None,
                    secret: new_secret(),
                    outbound_url: Some(url),
                },
            )
            .await
    }

    /// Files one Telegram update as its customer's message; false when it
    /// was filed before (the same update_id) or carries nothing to file.
    pub async fn file_telegram_update(&self, c: &Connection, update: &Value) -> Result<bool> {
        let Some(i) = telegram::incoming(update) else {
            return Ok(false);
        };
        let Incoming {
            update_id,
            chat_id,
            name,
            username,
            mut text,
            file,
        } = i;
        let token = c.bot_token.as_deref().unwrap_or_default();
        let external_id = format!("telegram:{}:{update_id}", telegram::bot_id(token));
        let mut files = vec![];
        if let Some(f) = file {
            match bot_of(c).download(&f.file_id).await {
                Ok(data) => files.push((f.name, f.content_type, data)),
                Err(e) => {
                    tracing::warn!(error = %e, connection = c.id, "a customer's Telegram file was not fetched");
                    text = format!("{text}\n[{}: not fetched ({e})]", f.name).trim().to_string();
                }
            }
        }
        if text.trim().is_empty() {
            text = files.first().map(|f| format!("[{}]", f.0)).unwrap_or_default();
        }
        let user = MessengerUser {
            channel: "telegram",
            identity: chat_id.clone(),
            name,
            fallback_name: username.clone().unwrap_or_else(|| format!("Telegram {chat_id}")),
            attributes: json!({ "telegram_username": username, "telegram_chat_id": chat_id }),
        };
        self.file_customer_message(c.workspace_id, user, Channel::Telegram, external_id, text, files)
            .await
    }

    /// Files a gateway's message; false when its id was filed before.
    pub async fn file_gateway_message(&self, c: &Connection, m: GatewayMessage) -> Result<bool> {
        let id = crate::domain::required_text("id", &m.id, 200)?;
        let from = crate::domain::required_text("from.id", &m.from.id, 200)?;
        let name = crate::domain::optional_text("from.name", &m.from.name, 200)?;
        let mut text = crate::domain::optional_text("text", &m.text, 10_000)?;
        if m.attachments.len() > 10 {
            return Err(Invalid::new("attachments", "at most 10").into());
        }
        // Files stay with the provider: the message names them by link.
        for a in &m.attachments {
            let url = checked_url("attachments.url", &a.url)?;
            let label = crate::domain::optional_text("attachments.name", &a.name, 200)?;
            crate::domain::optional_text("attachments.content_type", &a.content_type, 100)?;
            let label = if label.is_empty() {
                "attachment".to_string()
            } else {
                label
            };
            text.push_str(&format!("\n[{label}]({url})"));
        }
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(Invalid::new("text", "a message needs text or attachments").into());
        }
        let user = MessengerUser {
            channel: "messenger",
            identity: format!("{}:{from}", c.id),
            name,
            fallback_name: from.clone(),
            attributes: json!({ "messenger_id": from, "messenger_gateway": c.name }),
        };
        let external_id = format!("messenger:{}:{id}", c.id);
        self.file_customer_message(c.workspace_id, user, Channel::Messenger, external_id, text, vec![])
            .await
    }

    /// A customer's message on a messenger: into their open ticket on that
    /// channel, else a new one. The same external id is filed once.
    async fn file_customer_message(
        &self,
        ws: i64,
        user: MessengerUser,
        channel: Channel,
        external_id: String,
        text: String,
        files: Vec<(String, String, Vec<u8>)>,
    ) -> Result<bool> {
        let (contact, logged) = self.store.messenger_contact(ws, &user).await?;
        self.logged(&logged, crate::events::Hint::default());
        if let Some(t) = self
            .store
            .open_messenger_ticket(ws, contact.id, channel.as_str())
            .await?
        {
            let new = NewMessage {
                kind: MessageKind::Reply,
                author: Author::Contact,
                body: text,
                html: None,
                external_id: Some(external_id),
                files,
            };
            let added = self.add_message(ws, Writer::Contact, TicketId(t), new, &[]).await?;
            return Ok(added.created);
        }
        let subject: String = text.lines().next().unwrap_or_default().chars().take(80).collect();
        let subject = if subject.trim().is_empty() {
            format!("{} — {}", channel.as_str(), contact.name)
        } else {
            subject
        };
        let opened = self
            .open_ticket(
                WorkspaceId(ws),
                NewTicket {
                    subject,
                    body: text,
                    contact: TicketContact::Known(contact),
                    channel,
                    priority: Priority::Normal,
                    labels: vec![],
                    author: Author::Contact,
                    external_id: None,
                    message_external_id: Some(external_id),
                    team_id: None,
                    kind: None,
                    feature: None,
                },
            )
            .await?;
        if let (true, false, Some(m)) = (opened.created, files.is_empty(), &opened.message) {
            self.store.attach_to_message(&opened.ticket, m.id, &files).await?;
        }
        Ok(opened.created)
    }

    /// Writes on the ticket that a reply could not be delivered for good
    /// (the customer blocked the bot, the gateway kept refusing).
    pub async fn messenger_delivery_failed(&self, d: &Delivery, why: &str) -> Result<()> {
        self.store.delivery_failed(d.id, why).await?;
        let line = NewMessage {
            kind: MessageKind::Event,
            author: Author::System,
            body: why.to_string(),
            html: None,
            external_id: Some(format!("delivery-failed:{}", d.id)),
            files: vec![],
        };
        self.store
            .add_message(d.workspace_id, None, d.ticket_id, line, &[])
            .await?;
        Ok(())
    }

    /// Stamps a delivery for a later try.
    pub async fn messenger_delivery_retry(&self, d: &Delivery, wait_ms: i64, why: &str, counted: bool) -> Result<()> {
        self.store.delivery_retry(d.id, now_ms() + wait_ms, why, counted).await
    }
}

/// The Bot API client of a Telegram connection.
pub fn bot_of(c: &Connection) -> Bot {
    Bot::new(
        c.api_url.as_deref().unwrap_or("https://api.telegram.org"),
        c.bot_token.as_deref().unwrap_or_default(),
    )
}
