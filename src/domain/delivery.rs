//! What goes out to the customer, decided in one place from the channel,
//! the kind of message and who wrote it. Notes and system lines never leave.

use super::event::{Event, EventActor, EventType};
use super::ticket::{Channel, MessageKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// An agent's reply on a ticket the customer follows by mail.
    ReplyMail,
    /// An agent's chat reply, mailed when the visitor is gone (and left an address).
    ChatFollowUp,
    /// "We got your request #N", for a ticket opened by mail or a form.
    Confirmation,
}

impl Delivery {
    /// The outbox kind it is queued as.
    pub fn outbox_kind(self) -> &'static str {
        match self {
            Delivery::ReplyMail => "reply",
            Delivery::ChatFollowUp => "chat_followup",
            Delivery::Confirmation => "confirmation",
        }
    }
}

/// The mail an agent's message sends, if any.
pub fn for_message(channel: Channel, kind: MessageKind, author: EventActor) -> Option<Delivery> {
    if kind != MessageKind::Reply || !matches!(author, EventActor::Agent(_) | EventActor::Rule(_)) {
        return None;
    }
    match channel {
        Channel::Chat => Some(Delivery::ChatFollowUp),
        Channel::Email | Channel::Form | Channel::Api => Some(Delivery::ReplyMail),
        Channel::Phone | Channel::Telegram | Channel::Messenger | Channel::Monitor => None,
    }
}

/// The confirmation a new ticket sends, if any: a customer's mail (not an
/// auto-reply), form or call-back request.
pub fn for_new_ticket(channel: Channel, author: EventActor, automatic: bool) -> Option<Delivery> {
    if !matches!(author, EventActor::Contact(_)) || automatic {
        return None;
    }
    matches!(channel, Channel::Email | Channel::Form | Channel::Phone).then_some(Delivery::Confirmation)
}

/// What an event from the log sends, read from its recorded changes.
pub fn for_event(e: &Event) -> Option<Delivery> {
    let channel = e
        .changes
        .get("channel")
        .and_then(|c| c.as_str())
        .and_then(|c| Channel::parse("channel", c).ok())?;
    match e.kind {
        EventType::MessageCreated => {
            let kind = e
                .changes
                .get("kind")
                .and_then(|k| k.as_str())
                .and_then(|k| MessageKind::parse("kind", k).ok())?;
            for_message(channel, kind, e.actor)
        }
        EventType::TicketCreated => for_new_ticket(
            channel,
            e.actor,
            e.changes.get("automatic").and_then(|a| a.as_bool()).unwrap_or(false),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_and_customers_words_never_go_out() {
        for ch in Channel::ALL {
            assert_eq!(for_message(*ch, MessageKind::Note, EventActor::Agent(1)), None);
            assert_eq!(for_message(*ch, MessageKind::Event, EventActor::System), None);
            assert_eq!(for_message(*ch, MessageKind::Reply, EventActor::Contact(1)), None);
        }
        assert_eq!(
            for_message(Channel::Email, MessageKind::Reply, EventActor::Agent(1)),
            Some(Delivery::ReplyMail)
        );
        assert_eq!(
            for_message(Channel::Chat, MessageKind::Reply, EventActor::Agent(1)),
            Some(Delivery::ChatFollowUp)
        );
    }

    #[test]
    fn confirmations_only_for_customers_mail_and_forms() {
        assert_eq!(
            for_new_ticket(Channel::Email, EventActor::Contact(1), false),
            Some(Delivery::Confirmation)
        );
        assert_eq!(for_new_ticket(Channel::Email, EventActor::Contact(1), true), None);
        assert_eq!(for_new_ticket(Channel::Api, EventActor::Contact(1), false), None);
        assert_eq!(for_new_ticket(Channel::Chat, EventActor::Contact(1), false), None);
        assert_eq!(for_new_ticket(Channel::Form, EventActor::Agent(1), false), None);
    }
}
