//! Satisfaction surveys: CSAT (1–5, once per resolved ticket) and NPS
//! (0–10, at most once per contact within the workspace's interval). What
//! counts as a resolution, and what a customer's answer may be.

use std::ops::RangeInclusive;

use super::event::{Event, EventType};
use super::{optional_text, Invalid, Status};

/// Longest comment a customer may leave with a score.
pub const COMMENT_MAX: usize = 2000;

/// A resolution the surveys consumer reads later than this asks nothing: a
/// consumer that starts on an old log (its first start, a long outage)
/// must not survey customers about requests settled long ago.
pub const ASK_WITHIN_MS: i64 = 24 * 3_600_000;

/// How long an unanswered chat survey is offered again when the visitor
/// comes back to the widget.
pub const CHAT_OFFER_MS: i64 = 7 * 24 * 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Survey {
    Csat,
    Nps,
}

impl Survey {
    pub fn scale(self) -> RangeInclusive<i64> {
        match self {
            Survey::Csat => 1..=5,
            Survey::Nps => 0..=10,
        }
    }

    /// A score as it came (a link's query, a form field, a JSON value
    /// turned to text); empty is "no score given".
    pub fn score(self, raw: &str) -> Result<Option<i64>, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let range = self.scale();
        let out_of_range = || {
            Invalid::new(
                "score",
                format!("must be a whole number from {} to {}", range.start(), range.end()),
            )
        };
        let n: i64 = raw.parse().map_err(|_| out_of_range())?;
        if range.contains(&n) {
            Ok(Some(n))
        } else {
            Err(out_of_range())
        }
    }
}

/// A comment as the customer typed it, trimmed.
pub fn comment(raw: &str) -> Result<String, Invalid> {
    optional_text("comment", raw.trim(), COMMENT_MAX)
}

/// The ticket a `ticket.updated` event resolves, when it moved a ticket
/// that was not already done to resolved, and is recent enough to ask about.
pub fn resolution(e: &Event, now: i64) -> Option<i64> {
    if e.kind != EventType::TicketUpdated || now - e.created_at > ASK_WITHIN_MS {
        return None;
    }
    let status = e.changes.get("status")?;
    let done = |v: Option<&serde_json::Value>| {
        v.and_then(|s| s.as_str())
            .is_some_and(|s| s == Status::Resolved.as_str() || s == Status::Closed.as_str())
    };
    let to_resolved = status.get("to").and_then(|s| s.as_str()) == Some(Status::Resolved.as_str());
    (to_resolved && !done(status.get("from")))
        .then_some(e.ticket_id)
        .flatten()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::event::EventActor;

    fn updated(changes: serde_json::Value, at: i64) -> Event {
        Event {
            id: 1,
            workspace_id: 1,
            kind: EventType::TicketUpdated,
            ticket_id: Some(7),
            message_id: None,
            contact_id: Some(3),
            article_id: None,
            actor: EventActor::System,
            changes,
            created_at: at,
        }
    }

    #[test]
    fn scores_are_checked_against_their_scale() {
        assert_eq!(Survey::Csat.score("4").unwrap(), Some(4));
        assert_eq!(Survey::Csat.score(" ").unwrap(), None);
        assert!(Survey::Csat.score("0").is_err());
        assert!(Survey::Csat.score("6").is_err());
        assert!(Survey::Csat.score("four").is_err());
        assert!(Survey::Csat.score("4.5").is_err());
        assert_eq!(Survey::Nps.score("0").unwrap(), Some(0));
        assert_eq!(Survey::Nps.score("10").unwrap(), Some(10));
        assert!(Survey::Nps.score("11").is_err());
        assert!(Survey::Nps.score("-1").is_err());
    }

    #[test]
    fn comments_have_a_limit() {
        assert_eq!(comment("  thanks \n").unwrap(), "thanks");
        assert!(comment(&"я".repeat(COMMENT_MAX)).is_ok());
        assert!(comment(&"я".repeat(COMMENT_MAX + 1)).is_err());
        assert!(comment("a\u{0}b").is_err());
    }

    #[test]
    fn only_a_fresh_move_to_resolved_asks() {
        let now = 10 * ASK_WITHIN_MS;
        let s = |from: &str, to: &str| json!({ "status": { "from": from, "to": to } });
        assert_eq!(resolution(&updated(s("open", "resolved"), now), now), Some(7));
        assert_eq!(resolution(&updated(s("pending", "resolved"), now), now), Some(7));
        assert_eq!(resolution(&updated(s("closed", "resolved"), now), now), None);
        assert_eq!(resolution(&updated(s("resolved", "resolved"), now), now), None);
        assert_eq!(resolution(&updated(s("open", "closed"), now), now), None);
        assert_eq!(resolution(&updated(json!({ "priority": {} }), now), now), None);
        let old = updated(s("open", "resolved"), now - ASK_WITHIN_MS - 1);
        assert_eq!(resolution(&old, now), None);
    }
}
