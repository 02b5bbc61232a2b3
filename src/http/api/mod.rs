//! The JSON API under `/api/v1`, one module per resource.

pub mod events;
pub mod kb;
pub mod mail;
pub mod outbox;
pub mod people;
pub mod routing;
pub mod rules;
pub mod sla;
pub mod tickets;
pub mod widget;
