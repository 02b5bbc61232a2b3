//! Plans: which features a workspace may use and how far. Every check asks
//! here (through `service::plans`), so what a plan means is decided once.
//! A workspace without a plan has every feature and no limit.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// A feature a plan may leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    Chat,
    Email,
    KnowledgeBase,
    Reports,
    Automation,
    Proactive,
    Monitors,
    TimeTracking,
}

impl Feature {
    pub const ALL: [Feature; 8] = [
        Feature::Chat,
        Feature::Email,
        Feature::KnowledgeBase,
        Feature::Reports,
        Feature::Automation,
        Feature::Proactive,
        Feature::Monitors,
        Feature::TimeTracking,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Chat => "chat",
            Feature::Email => "email",
            Feature::KnowledgeBase => "knowledge_base",
            Feature::Reports => "reports",
            Feature::Automation => "automation",
            Feature::Proactive => "proactive",
            Feature::Monitors => "monitors",
            Feature::TimeTracking => "time_tracking",
        }
    }

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, Invalid> {
        Self::ALL.into_iter().find(|f| f.as_str() == raw).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|f| f.as_str()).collect();
            Invalid::new(
                field,
                format!(
                    "'{}' is not one of: {}",
                    raw.chars().take(40).collect::<String>(),
                    names.join(", ")
                ),
            )
        })
    }

    /// The feature an agent-facing request needs, by its path (API under
    /// `/api/v1`, console under `/app`). `None`: every plan has it.
    pub fn of_path(path: &str) -> Option<Feature> {
        let p = path
            .strip_prefix("/api/v1")
            .or_else(|| path.strip_prefix("/app/admin"))
            .or_else(|| path.strip_prefix("/app"))?;
        let first = p.trim_start_matches('/').split('/').next().unwrap_or("");
        let last = p.rsplit('/').next().unwrap_or("");
        let second = p.trim_start_matches('/').split('/').nth(1).unwrap_or("");
        match first {
            "campaigns" => Some(Feature::Proactive),
            "monitors" | "monitor-status-page" => Some(Feature::Monitors),
            "clients" => Some(Feature::TimeTracking),
            "reports" if second == "time" => Some(Feature::TimeTracking),
            "t" | "tickets"
                if matches!(last, "time" | "timer" | "estimate")
                    || matches!(second_last(p), Some("time" | "timer")) =>
            {
                Some(Feature::TimeTracking)
            }
            "widget" => Some(Feature::Chat),
            "mail" | "outbox" => Some(Feature::Email),
            "kb" => Some(Feature::KnowledgeBase),
            "reports" => Some(Feature::Reports),
            "rules" | "macros" | "sla" | "sla-policies" | "calendar" => Some(Feature::Automation),
            "teams" if last == "calendar" => Some(Feature::Automation),
            "t" | "tickets" if last == "macro" => Some(Feature::Automation),
            _ => None,
        }
    }
}

/// The segment before the last of a path.
fn second_last(p: &str) -> Option<&str> {
    let mut it = p.trim_end_matches('/').rsplit('/');
    it.next();
    it.next()
}

/// A plan: its features and limits (`None`: no limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub features: Vec<Feature>,
    pub max_agents: Option<i64>,
    pub storage_bytes: Option<i64>,
    pub is_default: bool,
}

impl Plan {
    pub fn has(&self, f: Feature) -> bool {
        self.features.contains(&f)
    }
}

/// What a request may do in a workspace: whether it is suspended and the
/// plan it is on (`None`: everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    pub suspended: bool,
    pub plan: Option<Plan>,
}

impl Standing {
    pub fn allows(&self, f: Feature) -> bool {
        self.plan.as_ref().is_none_or(|p| p.has(f))
    }

    /// Whether one more agent fits, with `agents` active now.
    pub fn agent_fits(&self, agents: i64) -> bool {
        self.plan
            .as_ref()
            .and_then(|p| p.max_agents)
            .is_none_or(|max| agents < max)
    }

    /// Whether `more` bytes fit beside `used` bytes.
    pub fn storage_fits(&self, used: i64, more: i64) -> bool {
        self.plan
            .as_ref()
            .and_then(|p| p.storage_bytes)
            .is_none_or(|max| used.saturating_add(more) <= max)
    }
}

/// Checks a plan's name, features and limits as given by an operator.
pub fn validate(
    name: &str,
    features: &[String],
    max_agents: Option<i64>,
    storage_bytes: Option<i64>,
) -> Result<(String, Vec<Feature>), Invalid> {
    let name = super::required_text("name", name, 100)?;
    if features.len() > 32 {
        return Err(Invalid::new("features", "at most 32 entries"));
    }
    let mut fs = Vec::new();
    for f in features {
        let f = Feature::parse("features", f)?;
        if !fs.contains(&f) {
            fs.push(f);
        }
    }
    if max_agents.is_some_and(|m| !(1..=1_000_000).contains(&m)) {
        return Err(Invalid::new("max_agents", "must be between 1 and 1000000, or null"));
    }
    if storage_bytes.is_some_and(|s| s < 0) {
        return Err(Invalid::new("storage_bytes", "must not be negative"));
    }
    Ok((name, fs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_feature() {
        assert_eq!(Feature::of_path("/api/v1/reports/summary"), Some(Feature::Reports));
        assert_eq!(Feature::of_path("/app/reports"), Some(Feature::Reports));
        assert_eq!(Feature::of_path("/app/admin/rules/3"), Some(Feature::Automation));
        assert_eq!(Feature::of_path("/api/v1/macros/3/apply"), Some(Feature::Automation));
        assert_eq!(Feature::of_path("/app/t/12/macro"), Some(Feature::Automation));
        assert_eq!(Feature::of_path("/api/v1/teams/2/calendar"), Some(Feature::Automation));
        assert_eq!(Feature::of_path("/api/v1/widget"), Some(Feature::Chat));
        assert_eq!(Feature::of_path("/app/admin/mail/test"), Some(Feature::Email));
        assert_eq!(Feature::of_path("/api/v1/kb/articles"), Some(Feature::KnowledgeBase));
        assert_eq!(Feature::of_path("/api/v1/tickets/1"), None);
        assert_eq!(Feature::of_path("/app/t/12"), None);
        assert_eq!(Feature::of_path("/api/v1/teams/2/members"), None);
        assert_eq!(Feature::of_path("/p/x/kb"), None);
        assert_eq!(
            Feature::of_path("/api/v1/campaigns/3/results"),
            Some(Feature::Proactive)
        );
        assert_eq!(Feature::of_path("/api/v1/monitors"), Some(Feature::Monitors));
        assert_eq!(Feature::of_path("/api/v1/monitor-status-page"), Some(Feature::Monitors));
        assert_eq!(
            Feature::of_path("/api/v1/clients/2/report.csv"),
            Some(Feature::TimeTracking)
        );
        assert_eq!(Feature::of_path("/api/v1/reports/time"), Some(Feature::TimeTracking));
        assert_eq!(Feature::of_path("/api/v1/tickets/4/time"), Some(Feature::TimeTracking));
        assert_eq!(
            Feature::of_path("/api/v1/tickets/4/time/9"),
            Some(Feature::TimeTracking)
        );
        assert_eq!(
            Feature::of_path("/api/v1/tickets/4/timer/stop"),
            Some(Feature::TimeTracking)
        );
        assert_eq!(
            Feature::of_path("/api/v1/tickets/4/estimate"),
            Some(Feature::TimeTracking)
        );
        for console in [
            "/app/t/4/time",
            "/app/t/4/timer",
            "/app/t/4/timer/stop",
            "/app/t/4/estimate",
        ] {
            assert_eq!(Feature::of_path(console), Some(Feature::TimeTracking), "{console}");
        }
        assert_eq!(Feature::of_path("/app/admin/clients/3"), Some(Feature::TimeTracking));
        assert_eq!(Feature::of_path("/app/reports/time"), Some(Feature::TimeTracking));
    }

    #[test]
    fn no_plan_allows_everything() {
        let s = Standing::default();
        assert!(Feature::ALL.iter().all(|f| s.allows(*f)));
        assert!(s.agent_fits(1_000_000));
        assert!(s.storage_fits(i64::MAX, 1));
    }

    #[test]
    fn a_plan_limits() {
        let s = Standing {
            suspended: false,
            plan: Some(Plan {
                id: 1,
                name: "chat".into(),
                features: vec![Feature::Chat],
                max_agents: Some(2),
                storage_bytes: Some(100),
                is_default: false,
            }),
        };
        assert!(s.allows(Feature::Chat) && !s.allows(Feature::Reports));
        assert!(s.agent_fits(1) && !s.agent_fits(2));
        assert!(s.storage_fits(50, 50) && !s.storage_fits(50, 51));
        assert!(validate("x", &["nope".into()], None, None).is_err());
        assert!(validate("x", &["chat".into(), "chat".into()], Some(0), None).is_err());
        assert_eq!(
            validate(" x ", &["chat".into(), "chat".into()], None, None).unwrap().1,
            vec![Feature::Chat]
        );
    }
}
