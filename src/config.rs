//! Command line and environment. Every setting is a flag with a
//! `STOREDESK_*` environment variable beside it; flags win.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "storedesk",
    version,
    about = "A help desk for online stores: one inbox for chat, e-mail, forms and messengers."
)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "STOREDESK_LOG_FORMAT", default_value = "text", global = true, value_parser = ["text", "json"])]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Folder for the SQLite database and other local files.
    #[arg(long, env = "STOREDESK_DATA_DIR", default_value = "./storedesk-data", global = true)]
    pub data_dir: PathBuf,
    /// `postgres://user:pass@host/db` for PostgreSQL; default SQLite in the data dir.
    #[arg(long, env = "STOREDESK_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DbArgs {
    /// The database URL, creating the data folder for SQLite.
    pub fn url(&self) -> std::io::Result<String> {
        match &self.database_url {
            Some(u) => Ok(u.clone()),
            None => {
                std::fs::create_dir_all(&self.data_dir)?;
                Ok(format!("sqlite://{}", self.data_dir.join("storedesk.db").display()))
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Create a workspace and its first admin; prints the workspace slug.
    Setup {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long, env = "STOREDESK_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
        #[arg(long)]
        admin_name: Option<String>,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Report totals.
    Reports {
        #[command(subcommand)]
        command: ReportsCommand,
    },
    /// Operators of a hosted installation (above workspaces).
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Write one workspace's rows (backup format) to FILE.
    ExportWorkspace {
        /// The workspace's slug.
        #[arg(long)]
        workspace: String,
        file: PathBuf,
    },
    /// Write every workspace, user, ticket and message to FILE.
    Backup { file: PathBuf },
    /// Load FILE (from `backup`) into an empty database.
    Restore { file: PathBuf },
    /// Fill the demo workspace ("demo-store", admin admin@demo-store.test,
    /// password "demo password 123") up to this many tickets.
    Seed {
        #[arg(long, default_value_t = 1000)]
        tickets: usize,
    },
    /// Measure throughput and latency; prints figures to compare.
    #[cfg(feature = "bench")]
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new API token for the user with this e-mail.
    Create {
        #[arg(long)]
        email: String,
        /// Needed when the e-mail belongs to users in several workspaces.
        #[arg(long)]
        workspace: Option<String>,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator and print an operator API token for it. The
    /// password is read from standard input with --password-stdin, else
    /// generated and printed once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a new operator API token for an existing operator.
    Token {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Build the report totals again from the tickets (all workspaces, or
    /// the one given by its slug). The server does it: at once when it
    /// runs, else when it next starts.
    Rebuild {
        #[arg(long)]
        workspace: Option<String>,
    },
}

#[cfg(feature = "bench")]
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Render the console's inbox and ticket pages against the database
    /// given by --data-dir / --database-url, seeded up to --tickets.
    Console {
        #[arg(long, default_value_t = 100_000)]
        tickets: usize,
        /// Requests per page kind.
        #[arg(long, default_value_t = 500)]
        requests: usize,
    },
    /// Create tickets over HTTP with concurrent clients against a fresh
    /// in-process server on SQLite and PostgreSQL.
    Api {
        #[arg(long, default_value_t = 5000)]
        tickets: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Which backends to run: sqlite, postgres or both.
        #[arg(long, default_value = "both", value_parser = ["sqlite", "postgres", "both"])]
        backend: String,
        /// Server to make a scratch database on for the PostgreSQL run.
        #[arg(
            long,
            env = "STOREDESK_BENCH_PG",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        pg_admin_url: String,
    },
    /// Store pages' page views and events over HTTP from many visitors a
    /// minute (from many loopback addresses; limits stay on) while one
    /// chat measures its round trip.
    Events {
        /// Visitors arriving per minute (a page view and a batch each).
        #[arg(long, default_value_t = 10_000)]
        per_minute: usize,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Loopback source addresses (127.0.2.x and up) they come from.
        #[arg(long, default_value_t = 200)]
        addresses: usize,
        #[arg(long, default_value = "both", value_parser = ["sqlite", "postgres", "both"])]
        backend: String,
        #[arg(
            long,
            env = "STOREDESK_BENCH_PG",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        pg_admin_url: String,
    },
    /// Search: knowledge-base articles, and agents' ticket search over
    /// messages; indexing rate and query latency of each (0 skips one).
    Search {
        #[arg(long, default_value_t = 50_000)]
        articles: usize,
        #[arg(long, default_value_t = 200_000)]
        messages: usize,
    },
    /// Knowledge-base search relevance: top-1 and top-3 accuracy per
    /// language on the FAQ fixture and on the held-out kb-eval set (dev and
    /// test halves), printed as a Markdown table.
    Relevance {
        /// Directory holding kb/ and kb-eval/.
        #[arg(long, default_value = "tests/fixtures")]
        fixtures: std::path::PathBuf,
        /// Also list the dev half's misses (what to tune on). The test half's
        /// are never listed.
        #[arg(long)]
        misses: bool,
    },
    /// Take in mail through SMTP on loopback and through the direct path.
    Mail {
        #[arg(long, default_value_t = 2000)]
        messages: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value = "both", value_parser = ["sqlite", "postgres", "both"])]
        backend: String,
        #[arg(
            long,
            env = "STOREDESK_BENCH_PG",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        pg_admin_url: String,
    },
    /// Automation rules: evaluation alone (rules/s on one thread), then
    /// tickets over HTTP with no rules and with --rules rules in the
    /// workspace (creation latency, and how the rules consumer keeps up).
    Rules {
        /// Rules in the workspace (at most 500).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(0..=500))]
        rules: u16,
        /// Distinct events (ticket facts) the evaluation runs over.
        #[arg(long, default_value_t = 4000)]
        events: usize,
        #[arg(long, default_value_t = 2000)]
        tickets: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value = "both", value_parser = ["sqlite", "postgres", "both"])]
        backend: String,
        #[arg(
            long,
            env = "STOREDESK_BENCH_PG",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        pg_admin_url: String,
    },
    /// Reports at scale: seed the demo workspace (replies, resolutions,
    /// CSAT, NPS) up to each of --sizes tickets on a scratch database, time
    /// how the report totals are built, then request the summary,
    /// per-agent, heatmap and daily reports over HTTP.
    Reports {
        /// Ticket counts, comma-separated; each tops up the one before.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        sizes: Vec<usize>,
        /// Timed requests per report (after 10 to warm up).
        #[arg(long, default_value_t = 200)]
        requests: usize,
        #[arg(long, default_value = "both", value_parser = ["sqlite", "postgres", "both"])]
        backend: String,
        #[arg(
            long,
            env = "STOREDESK_BENCH_PG",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        pg_admin_url: String,
    },
    /// Hold idle visitor sockets, let some visitors chat at a set rate to
    /// an agent's stream, and measure delivery latency.
    Chat {
        /// Visitor sockets that connect and stay idle.
        #[arg(long, default_value_t = 1000)]
        idle: usize,
        /// Visitors that send messages.
        #[arg(long, default_value_t = 100)]
        active: usize,
        /// Messages per second, all active visitors together.
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value = "both", value_parser = ["sqlite", "postgres", "both"])]
        backend: String,
        #[arg(
            long,
            env = "STOREDESK_BENCH_PG",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        pg_admin_url: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on for HTTP.
    #[arg(long, env = "STOREDESK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Days the event log (`GET /api/v1/events`) keeps events; older ones
    /// are pruned once every cluster consumer has passed them.
    #[arg(long, env = "STOREDESK_EVENT_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub event_retention_days: u64,
    /// Reverse proxies (addresses or networks, comma-separated, e.g.
    /// `127.0.0.1,10.0.0.0/8`) whose `Forwarded`/`X-Forwarded-For` header
    /// names the client; from anyone else those headers are ignored.
    #[arg(long, env = "STOREDESK_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: crate::http::client_addr::TrustedProxies,
    /// Serve sign-in over plain http on an address other machines reach
    /// (a LAN trial): cookies and passwords then cross the network unencrypted.
    #[arg(long, env = "STOREDESK_ALLOW_INSECURE_HTTP")]
    pub allow_insecure_http: bool,
    /// Let outbound webhooks reach loopback, private and link-local
    /// addresses (a receiver on the same machine or network); refused by default.
    #[arg(long, env = "STOREDESK_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: bool,
    /// Networks (CIDRs or addresses, comma-separated) site monitors may
    /// probe although they are loopback, private or link-local; refused by default.
    #[arg(long, env = "STOREDESK_MONITOR_ALLOW", default_value = "", value_parser = monitor_allow)]
    pub monitor_allow: MonitorAllow,
    /// The shortest interval (seconds) between a site monitor's checks.
    #[arg(long, env = "STOREDESK_MONITOR_MIN_INTERVAL", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=86_400))]
    pub monitor_min_interval: i64,
    /// The RDAP server domain monitors ask (`{url}/domain/{name}`).
    #[arg(long, env = "STOREDESK_RDAP_URL", default_value = "https://rdap.org")]
    pub rdap_url: String,
    /// Let anyone make a new store (workspace and first admin, on the
    /// default plan) at `/signup`. Off by default.
    #[arg(long, env = "STOREDESK_SIGNUP")]
    pub signup: bool,
    /// Serve `/metrics` on this address instead of the main listener
    /// (e.g. 127.0.0.1:9090, reachable by Prometheus only).
    #[arg(long, env = "STOREDESK_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Require `Authorization: Bearer TOKEN` on `/metrics` (16 characters or more).
    #[arg(long, env = "STOREDESK_METRICS_TOKEN", hide_env_values = true, value_parser = metrics_token)]
    pub metrics_token: Option<String>,
    /// Telegram's Bot API, e.g. a self-hosted telegram-bot-api server; bots
    /// connected afterwards are served by it.
    #[arg(long, env = "STOREDESK_TELEGRAM_API_URL", default_value = "https://api.telegram.org")]
    pub telegram_api_url: String,
    #[command(flatten)]
    pub mail: MailArgs,
}

/// E-mail settings.
#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// Address for the built-in SMTP listener (e.g. 127.0.0.1:2525); off when absent.
    #[arg(long, env = "STOREDESK_SMTP_LISTEN")]
    pub smtp_listen: Option<SocketAddr>,
    /// Relay for outgoing mail: smtp://[user:pass@]host:port?tls=none|starttls|tls.
    /// Without it mail waits in the outbox.
    #[arg(long, env = "STOREDESK_SMTP_RELAY", hide_env_values = true)]
    pub smtp_relay: Option<crate::mail::Relay>,
    /// Support addresses are SLUG@DOMAIN; replies go to SLUG+TOKEN@DOMAIN.
    #[arg(long, env = "STOREDESK_MAIL_DOMAIN", default_value = "localhost")]
    pub mail_domain: String,
    /// PEM certificate chain for STARTTLS on the SMTP listener (with --smtp-tls-key).
    #[arg(long, env = "STOREDESK_SMTP_TLS_CERT", requires = "smtp_tls_key")]
    pub smtp_tls_cert: Option<PathBuf>,
    /// PEM private key for STARTTLS on the SMTP listener.
    #[arg(long, env = "STOREDESK_SMTP_TLS_KEY", requires = "smtp_tls_cert")]
    pub smtp_tls_key: Option<PathBuf>,
    /// The URL customers reach this server at (for private links in mail),
    /// e.g. https://help.acme.test; default http://LISTEN.
    #[arg(long, env = "STOREDESK_PUBLIC_URL")]
    pub public_url: Option<String>,
}

fn metrics_token(v: &str) -> Result<String, String> {
    if v.len() < 16 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the metrics token must be 16 characters or more, without spaces".into());
    }
    Ok(v.to_string())
}

/// `--monitor-allow`, parsed.
#[derive(Debug, Clone, Default)]
pub struct MonitorAllow(pub Vec<ipnet::IpNet>);

fn monitor_allow(raw: &str) -> Result<MonitorAllow, String> {
    crate::monitors::parse_allow(raw).map(MonitorAllow)
}
