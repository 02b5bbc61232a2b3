//! The integration suite: one test binary (one link), every test run on
//! SQLite and on a real PostgreSQL through `both_backends!`.

mod harness;

mod browser;
mod campaigns;
mod chat;
mod cli;
mod conformance;
mod console;
mod console_campaigns;
mod console_reports;
mod console_rules;
mod console_sla;
mod contacts;
mod deploy;
mod durability;
mod email;
mod events;
mod form;
mod fuzz;
mod hardening;
mod imap;
mod isolation;
mod kb;
mod kb_learning;
mod kinds;
mod messenger;
mod meta;
mod monitors;
mod operator;
mod permissions;
mod portal;
mod privacy;
mod reports;
mod routing;
mod rules;
mod search;
mod sla;
mod surveys;
mod telegram;
mod tickets;
mod timework;
mod validation;
mod webhooks;
