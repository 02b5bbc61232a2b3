//! storedesk: a help desk for online stores in one binary.

pub mod app;
pub mod auth;
#[cfg(feature = "bench")]
pub mod bench;
pub mod channels;
pub mod cli;
pub mod config;
pub mod cpu;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod kb;
pub mod mail;
pub mod markdown;
pub mod monitors;
pub mod realtime;
pub mod sanitize;
pub mod search;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod ticket_search;
pub mod webhooks;
