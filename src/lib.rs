//! storedesk: a help desk for online stores in one binary.

pub mod domain;
pub mod store;
pub mod events;
pub mod jobs;
pub mod service;
pub mod app;
pub mod auth;
pub mod error;
pub mod http;
pub mod telemetry;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cli;
pub mod config;
pub mod realtime;
pub mod i18n;
pub mod channels;
pub mod mail;
pub mod markdown;
pub mod search;
pub mod kb;
pub mod ticket_search;
