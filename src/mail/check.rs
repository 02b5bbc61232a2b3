//! What an admin runs from the mail settings before trusting them: a test
//! mail through the relay the workspace's mail would take.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncTransport, Message};

use super::Relay;
use crate::domain::Email;
use crate::store::mail_settings::MailSettings;

/// The relay the workspace's mail goes through: its own, else the server's.
pub fn relay_for(settings: &MailSettings, server: Option<&Relay>) -> Result<Relay, String> {
    if !settings.relay.is_empty() {
        return settings.relay.parse();
    }
    server
        .cloned()
        .ok_or_else(|| crate::store::outbox::NO_RELAY.to_string())
}

/// Sends a short test mail from the workspace's support address and waits
/// for the relay's answer (30 s at most); the error is the relay's own words.
pub async fn send_test(
    relay: &Relay,
    from: &str,
    workspace: &str,
    to: &Email,
    subject: &str,
    text: &str,
) -> Result<(), String> {
    let name = workspace.replace(['<', '>', '"'], "");
    let from: Mailbox = format!("{name} <{from}>").parse().map_err(|e| format!("from: {e}"))?;
    let to: Mailbox = to.as_str().parse().map_err(|e| format!("to: {e}"))?;
    let m = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(text.to_string())
        .map_err(|e| e.to_string())?;
    let t = super::outbound::transport(relay).map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(35), t.send(m)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the relay did not answer within 35 s".into()),
    }
}
