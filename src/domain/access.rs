//! Who may see and change what. Every permission question the adapters ask
//! is answered here, so a rule changes in one place.

use super::ticket::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, super::Invalid> {
        match raw {
            "admin" => Ok(Role::Admin),
            "agent" => Ok(Role::Agent),
            other => Err(super::Invalid::new(
                field,
                format!(
                    "'{}' is not one of: admin, agent",
                    other.chars().take(40).collect::<String>()
                ),
            )),
        }
    }
}

/// Which tickets an agent works on: all of the workspace, or only those of
/// their teams (and those assigned to them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketScope {
    All,
    Teams(Vec<i64>),
}

/// The authenticated user a request acts for.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub workspace_id: i64,
    pub role: Role,
    pub scope: TicketScope,
}

/// The parts of a ticket that access depends on.
#[derive(Debug, Clone, Copy)]
pub struct TicketAccess {
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: Status,
}

impl TicketAccess {
    /// A new ticket no rule has routed: no team, nobody assigned.
    pub fn unrouted() -> Self {
        Self {
            team_id: None,
            assignee_id: None,
            status: Status::Open,
        }
    }
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins see every ticket of their workspace; a team-restricted agent
    /// sees tickets of their teams and those assigned to them.
    pub fn can_see(&self, t: TicketAccess) -> bool {
        if self.role == Role::Admin {
            return true;
        }
        match &self.scope {
            TicketScope::All => true,
            TicketScope::Teams(teams) => {
                t.assignee_id == Some(self.user_id) || t.team_id.is_some_and(|id| teams.contains(&id))
            }
        }
    }

    /// A restricted agent may not hand a ticket to a team they are not in,
    /// since the ticket would then vanish from their own view.
    pub fn can_move_to_team(&self, team_id: Option<i64>) -> bool {
        match (&self.scope, self.role) {
            (_, Role::Admin) | (TicketScope::All, _) => true,
            (TicketScope::Teams(teams), Role::Agent) => team_id.is_some_and(|id| teams.contains(&id)),
        }
    }

    /// Managing users, teams and workspace settings is for admins.
    pub fn can_manage_workspace(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(scope: TicketScope) -> Actor {
        Actor {
            user_id: 7,
            workspace_id: 1,
            role: Role::Agent,
            scope,
        }
    }

    #[test]
    fn restricted_agent_sees_own_teams_and_own_tickets_only() {
        let a = agent(TicketScope::Teams(vec![3]));
        let t = |team_id, assignee_id| TicketAccess {
            team_id,
            assignee_id,
            status: Status::Open,
        };
        assert!(a.can_see(t(Some(3), None)));
        assert!(a.can_see(t(None, Some(7))));
        assert!(!a.can_see(t(Some(4), None)));
        assert!(!a.can_see(t(None, None)));
        assert!(!a.can_see(t(None, Some(8))));
        assert!(!a.can_move_to_team(Some(4)));
        assert!(a.can_move_to_team(Some(3)));
        assert!(!a.can_manage_workspace());
    }

    #[test]
    fn admin_and_unrestricted_agent_see_all() {
        let t = TicketAccess {
            team_id: Some(9),
            assignee_id: None,
            status: Status::Open,
        };
        assert!(agent(TicketScope::All).can_see(t));
        let admin = Actor {
            role: Role::Admin,
            ..agent(TicketScope::Teams(vec![]))
        };
        assert!(admin.can_see(t));
        assert!(admin.can_manage_workspace());
    }
}
