use super::Invalid;

/// Generates a closed string enum with parsing that names the accepted
/// values, so every enum the API takes gives the same clear error.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(field: &'static str, raw: &str) -> Result<Self, $crate::domain::Invalid> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::domain::Invalid::new(field, format!(
                        "'{}' is not one of: {}",
                        other.chars().take(40).collect::<String>(),
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Where a ticket is in its life. Open needs the team; pending waits on
    /// the customer; resolved may be reopened by the customer; closed is done.
    Status { Open => "open", Pending => "pending", Resolved => "resolved", Closed => "closed" }
);
string_enum!(Priority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" });
string_enum!(
    /// The way the customer reached the store. A conversation on any channel is a ticket.
    Channel { Api => "api", Email => "email", Chat => "chat", Form => "form", Phone => "phone", Telegram => "telegram", Messenger => "messenger", Monitor => "monitor" }
);
string_enum!(
    /// A reply is seen by the customer; a note only by the team; an event is
    /// written by the system (status changed, assigned, ...).
    MessageKind { Reply => "reply", Note => "note", Event => "event" }
);
string_enum!(AuthorType { Agent => "agent", Contact => "contact", System => "system" });
string_enum!(
    /// What a request is about, for deciding what to fix or build next: set
    /// by an agent or a rule. A missing feature also names the feature.
    RequestKind { Question => "question", OrderProblem => "order_problem", Bug => "bug", MissingFeature => "missing_feature", UnclearFeature => "unclear_feature" }
);
/// The longest name of a missing feature.
pub const FEATURE_MAX: usize = 100;

impl RequestKind {
    /// How a conversation's event line names the kind.
    pub fn label(self) -> &'static str {
        match self {
            RequestKind::Question => "Question",
            RequestKind::OrderProblem => "Order problem",
            RequestKind::Bug => "Bug",
            RequestKind::MissingFeature => "Missing feature",
            RequestKind::UnclearFeature => "Unclear feature",
        }
    }
}

/// A missing feature's name as the tally counts it: trimmed, on one line.
pub fn normalize_feature(raw: &str) -> Result<String, Invalid> {
    let f = raw.trim();
    if f.is_empty() {
        return Err(Invalid::new("feature", "must not be empty; send null to clear it"));
    }
    let count = f.chars().count();
    if count > FEATURE_MAX {
        return Err(Invalid::new(
            "feature",
            format!("is {count} characters long; the limit is {FEATURE_MAX}"),
        ));
    }
    if f.chars().any(char::is_control) {
        return Err(Invalid::new("feature", "must be one line without control characters"));
    }
    Ok(f.to_string())
}

/// The kind and feature a ticket has after a change (`None` leaves a field
/// as it is, `Some(None)` clears it). Only a missing feature names one, so
/// any other kind drops the feature, and a feature given with another kind
/// is refused rather than silently lost.
pub fn kind_and_feature(
    before: (Option<RequestKind>, Option<&str>),
    kind: Option<Option<RequestKind>>,
    feature: Option<Option<String>>,
) -> Result<(Option<RequestKind>, Option<String>), Invalid> {
    let kind = kind.unwrap_or(before.0);
    if kind == Some(RequestKind::MissingFeature) {
        return Ok((kind, feature.unwrap_or_else(|| before.1.map(str::to_string))));
    }
    if let Some(Some(_)) = feature {
        return Err(Invalid::new(
            "feature",
            format!(
                "only a {} ticket names a feature; set kind to {} with it",
                RequestKind::MissingFeature,
                RequestKind::MissingFeature
            ),
        ));
    }
    Ok((kind, None))
}

pub const SUBJECT_MAX: usize = 300;
pub const BODY_MAX: usize = 65_536;
pub const LABEL_MAX: usize = 50;
pub const LABELS_MAX: usize = 30;
pub const NAME_MAX: usize = 200;

/// Labels are short, lower-case words; duplicates collapse and order is
/// kept stable (sorted) so a ticket shows the same set the same way.
pub fn normalize_labels(raw: &[String]) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for l in raw {
        let l = l.trim().to_lowercase();
        if l.is_empty() {
            return Err(Invalid::new("labels", "a label must not be empty"));
        }
        if l.chars().count() > LABEL_MAX {
            return Err(Invalid::new(
                "labels",
                format!("a label is at most {LABEL_MAX} characters"),
            ));
        }
        if l.chars().any(|c| c.is_control() || c == ',') {
            return Err(Invalid::new(
                "labels",
                "a label must not contain commas or control characters",
            ));
        }
        out.push(l);
    }
    out.sort();
    out.dedup();
    if out.len() > LABELS_MAX {
        return Err(Invalid::new(
            "labels",
            format!("a ticket has at most {LABELS_MAX} labels"),
        ));
    }
    Ok(out)
}

/// Timestamps a ticket keeps for reports, given what just happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
}

impl Clock {
    /// The first public reply by an agent starts nothing and stops the
    /// first-response clock; later replies leave it alone.
    pub fn on_message(self, kind: MessageKind, author: AuthorType, now: i64) -> Self {
        let mut c = self;
        if kind == MessageKind::Reply && author == AuthorType::Agent && c.first_response_at.is_none() {
            c.first_response_at = Some(now);
        }
        c
    }

    /// Resolving stamps the time; leaving resolved/closed for open or
    /// pending clears it so the next resolution is measured afresh.
    pub fn on_status(self, from: Status, to: Status, now: i64) -> Self {
        let mut c = self;
        match to {
            Status::Resolved | Status::Closed if from != Status::Resolved && from != Status::Closed => {
                c.resolved_at = Some(now)
            }
            Status::Open | Status::Pending => c.resolved_at = None,
            _ => {}
        }
        c
    }
}

/// A customer writing on a pending, resolved or closed ticket puts it back
/// in front of the team.
pub fn status_after_contact_message(current: Status) -> Status {
    match current {
        Status::Open => Status::Open,
        Status::Pending | Status::Resolved | Status::Closed => Status::Open,
    }
}

string_enum!(
    /// What an agent may write into a conversation: a reply the customer
    /// sees, or a note only the team sees. Parsed at the edge; anything else
    /// is refused, never taken for a reply.
    PostKind { Reply => "reply", Note => "note" }
);

impl From<PostKind> for MessageKind {
    fn from(k: PostKind) -> Self {
        match k {
            PostKind::Reply => MessageKind::Reply,
            PostKind::Note => MessageKind::Note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_the_choices() {
        assert_eq!(Status::parse("status", "pending").unwrap(), Status::Pending);
        let e = Status::parse("status", "done").unwrap_err();
        assert!(e.message.contains("open, pending, resolved, closed"), "{}", e.message);
    }

    #[test]
    fn labels_normalized() {
        let l = normalize_labels(&["VIP".into(), " refund".into(), "vip".into()]).unwrap();
        assert_eq!(l, vec!["refund", "vip"]);
        assert!(normalize_labels(&["".into()]).is_err());
        assert!(normalize_labels(&["a,b".into()]).is_err());
    }

    #[test]
    fn clocks() {
        let c = Clock::default().on_message(MessageKind::Note, AuthorType::Agent, 5);
        assert_eq!(c.first_response_at, None);
        let c =
            c.on_message(MessageKind::Reply, AuthorType::Agent, 7)
                .on_message(MessageKind::Reply, AuthorType::Agent, 9);
        assert_eq!(c.first_response_at, Some(7));
        let c = c.on_status(Status::Open, Status::Resolved, 10);
        assert_eq!(c.resolved_at, Some(10));
        let c = c.on_status(Status::Resolved, Status::Closed, 11);
        assert_eq!(c.resolved_at, Some(10));
        let c = c.on_status(Status::Closed, Status::Open, 12);
        assert_eq!(c.resolved_at, None);
        assert_eq!(status_after_contact_message(Status::Resolved), Status::Open);
    }

    #[test]
    fn features_belong_to_missing_feature_tickets() {
        use RequestKind::*;
        assert_eq!(normalize_feature("  Gift wrapping ").unwrap(), "Gift wrapping");
        assert!(normalize_feature(" ").is_err());
        assert!(normalize_feature(&"x".repeat(FEATURE_MAX)).is_ok());
        assert!(normalize_feature(&"x".repeat(FEATURE_MAX + 1))
            .unwrap_err()
            .message
            .contains("101"));
        assert!(normalize_feature("Gift\nwrapping").is_err());
        let gift = || Some(Some("Gift wrapping".to_string()));
        assert_eq!(
            kind_and_feature((None, None), Some(Some(MissingFeature)), gift()).unwrap(),
            (Some(MissingFeature), Some("Gift wrapping".into()))
        );
        // The feature stays while the kind does, and goes with it.
        let before = (Some(MissingFeature), Some("Gift wrapping"));
        assert_eq!(
            kind_and_feature(before, None, None).unwrap().1.as_deref(),
            Some("Gift wrapping")
        );
        assert_eq!(
            kind_and_feature(before, Some(Some(Bug)), None).unwrap(),
            (Some(Bug), None)
        );
        assert_eq!(kind_and_feature(before, Some(None), None).unwrap(), (None, None));
        assert_eq!(
            kind_and_feature(before, None, Some(None)).unwrap(),
            (Some(MissingFeature), None)
        );
        let e = kind_and_feature((Some(Bug), None), None, gift()).unwrap_err();
        assert!(e.message.contains("missing_feature"), "{}", e.message);
        assert!(kind_and_feature(before, Some(Some(Question)), gift()).is_err());
        assert_eq!(
            kind_and_feature((Some(Bug), None), None, Some(None)).unwrap(),
            (Some(Bug), None)
        );
    }
}
