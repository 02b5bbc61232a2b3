//! Plain types and rules of the help desk. No I/O, no async: everything here
//! is tested directly and shared by every adapter.

pub mod access;
pub mod calendar;
pub mod campaign;
pub mod delivery;
pub mod digest;
pub mod email;
pub mod event;
pub mod hours;
pub mod identity;
pub mod ids;
pub mod kb_learning;
pub mod mention;
pub mod monitor;
pub mod plan;
pub mod reports;
pub mod rules;
pub mod signature;
pub mod sla;
pub mod survey;
pub mod ticket;
pub mod time;
pub mod webhook;
pub mod worklog;

pub use access::{Actor, Role, TicketScope};
pub use email::Email;
pub use ticket::{AuthorType, Channel, MessageKind, Priority, RequestKind, Status};

/// A rule of the domain was broken by the caller's input. The message is
/// meant for the caller and names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Trims `value` and checks it is not empty and at most `max` characters.
pub fn required_text(field: &'static str, value: &str, max: usize) -> Result<String, Invalid> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    optional_text(field, v, max)
}

/// Checks a length limit in characters (not bytes: Persian and Cyrillic
/// take two bytes a letter) and rejects control characters other than
/// line breaks and tabs.
pub fn optional_text(field: &'static str, value: &str, max: usize) -> Result<String, Invalid> {
    let count = value.chars().count();
    if count > max {
        return Err(Invalid::new(
            field,
            format!("is {count} characters long; the limit is {max}"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Invalid::new(field, "contains control characters"));
    }
    Ok(value.to_string())
}

/// Makes a URL-safe workspace slug from a display name, transliterating
/// Cyrillic and other scripts so "Магазин" becomes "magazin".
pub fn slugify(name: &str) -> String {
    let s = slug::slugify(name);
    let s: String = s.chars().take(40).collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "workspace".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ascii_and_never_empty() {
        assert_eq!(slugify("Acme Shop"), "acme-shop");
        assert_eq!(slugify("Магазин Ромашка"), "magazin-romashka");
        assert_eq!(slugify("!!!"), "workspace");
    }

    #[test]
    fn text_limits_count_characters() {
        assert!(required_text("subject", "   ", 10).is_err());
        assert_eq!(required_text("subject", " заказ ", 5).unwrap(), "заказ");
        assert!(required_text("subject", "заказы", 5).is_err());
        assert!(optional_text("body", "a\u{0}b", 10).is_err());
        assert!(optional_text("body", "a\nb\tc", 10).is_ok());
    }
}
