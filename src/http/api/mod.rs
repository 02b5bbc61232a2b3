//! The JSON API under `/api/v1`, one module per resource.

pub mod campaigns;
pub mod channels;
pub mod clients;
pub mod contacts;
pub mod events;
pub mod kb;
pub mod mail;
pub mod monitors;
pub mod operator;
pub mod outbox;
pub mod people;
pub mod privacy;
pub mod reports;
pub mod routing;
pub mod rules;
pub mod sla;
pub mod tickets;
pub mod time;
pub mod webhooks;
pub mod widget;

/// Refuses a non-admin with 403 saying what only admins may `do_what`.
pub fn admin_only(actor: &crate::domain::Actor, do_what: &str) -> crate::error::ApiResult<()> {
    if actor.can_manage_workspace() {
        Ok(())
    } else {
        Err(crate::error::AppError::forbidden(format!(
            "only an admin of the workspace may {do_what}"
        )))
    }
}
