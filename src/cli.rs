//! What each subcommand does. `main` only parses and calls in here.

use std::io::{BufReader, BufWriter, Write};

use anyhow::{bail, Context};

use crate::app::{serve, AppState};
use crate::config::{Cli, Command, DbArgs, ServeArgs, TokenCommand};
use crate::domain::{required_text, slugify, Email, Role};
use crate::store::{redact_url, NewUser, Store};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    crate::telemetry::init_logging(cli.log_format == "json");
    match cli.command {
        Command::Serve(args) => run_server(&cli.db, *args).await,
        Command::Setup {
            workspace,
            admin_email,
            admin_password,
            admin_name,
        } => {
            let store = open(&cli.db).await?;
            let name = required_text("workspace", &workspace, 200)?;
            let email = Email::parse("admin-email", &admin_email)?;
            crate::auth::check_password_policy(&admin_password)?;
            let admin = NewUser {
                name: admin_name.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("admin").to_string()),
                email,
                role: Role::Admin,
                teams_only: false,
                password_hash: Some(crate::auth::hash_password(&admin_password)),
            };
            let (ws, _) = store.create_workspace(&name, &slugify(&name), admin).await?;
            println!("{}", ws.slug);
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { email, workspace, name },
        } => {
            let store = open(&cli.db).await?;
            let email = Email::parse("email", &email)?;
            let users = store.users_by_email(email.as_str()).await?;
            let user = match (users.len(), workspace) {
                (0, _) => bail!("no user with e-mail {email}"),
                (_, Some(slug)) => {
                    users
                        .into_iter()
                        .find(|(_, s)| *s == slug)
                        .with_context(|| format!("no user {email} in workspace {slug}"))?
                        .0
                }
                (1, None) => users.into_iter().next().expect("one user").0,
                (_, None) => bail!(
                    "{email} is in several workspaces ({}); name one with --workspace",
                    users.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            };
            let token = crate::auth::new_token();
            store
                .create_api_token(user.workspace_id, user.id, &name, &crate::auth::token_hash(&token))
                .await?;
            println!("{token}");
            Ok(())
        }
        Command::Operator { command } => operator(&cli.db, command).await,
        Command::ExportWorkspace { workspace, file } => {
            let store = open(&cli.db).await?;
            let ws = store
                .workspace_by_slug(&workspace)
                .await
                .with_context(|| format!("no workspace {workspace}"))?;
            let tmp = file.with_extension("partial");
            let f = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
            let mut out = BufWriter::new(f);
            let stats = store.backup_workspace(&mut out, ws.id).await?;
            let f = out.into_inner().context("flushing the export")?;
            f.sync_all()?;
            std::fs::rename(&tmp, &file)?;
            eprintln!(
                "workspace {} written to {}: {}",
                ws.slug,
                file.display(),
                summary(&stats)
            );
            Ok(())
        }
        Command::Backup { file } => {
            let store = open(&cli.db).await?;
            let tmp = file.with_extension("partial");
            let f = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
            let mut out = BufWriter::new(f);
            let stats = store.backup(&mut out).await?;
            let f = out.into_inner().context("flushing the backup")?;
            f.sync_all()?;
            std::fs::rename(&tmp, &file)?;
            eprintln!("backup written to {}: {}", file.display(), summary(&stats));
            Ok(())
        }
        Command::Restore { file } => {
            let store = open(&cli.db).await?;
            let f = std::fs::File::open(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let stats = store.restore(BufReader::new(f)).await?;
            eprintln!("restored from {}: {}", file.display(), summary(&stats));
            Ok(())
        }
        Command::Reports {
            command: crate::config::ReportsCommand::Rebuild { workspace },
        } => {
            let store = open(&cli.db).await?;
            let ids = match workspace {
                Some(slug) => vec![store.workspace_by_slug(&slug).await?.id],
                None => store.workspace_ids().await?,
            };
            for id in &ids {
                store.request_report_rebuild(*id).await?;
            }
            eprintln!(
                "asked to rebuild the report totals of {} workspace(s): a running server does it now, else the next start",
                ids.len()
            );
            Ok(())
        }
        Command::Seed { tickets } => {
            let store = open(&cli.db).await?;
            let started = std::time::Instant::now();
            let hash =
                tokio::task::spawn_blocking(|| crate::auth::hash_password(crate::store::seed::DEMO_PASSWORD)).await?;
            let s = store.seed(tickets, &hash).await?;
            eprintln!(
                "workspace {}: {} tickets ({} new) in {:.1} s; sign in at /login as {} with \"{}\"",
                s.slug,
                s.total,
                s.created,
                started.elapsed().as_secs_f64(),
                crate::store::seed::DEMO_ADMIN,
                crate::store::seed::DEMO_PASSWORD
            );
            Ok(())
        }
        #[cfg(feature = "bench")]
        Command::Bench {
            command: crate::config::BenchCommand::Console { tickets, requests },
        } => crate::bench::console::run(&cli.db, tickets, requests).await,
        #[cfg(feature = "bench")]
        Command::Bench { command } => crate::bench::run(command).await,
    }
}

/// Operators are made here only: no HTTP route creates one.
async fn operator(db: &DbArgs, command: crate::config::OperatorCommand) -> anyhow::Result<()> {
    use crate::config::OperatorCommand;
    let store = open(db).await?;
    let (op, name) = match command {
        OperatorCommand::Create { email, password_stdin } => {
            let email = Email::parse("email", &email)?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("reading the password")?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (crate::service::operator::generated_password(), true)
            };
            crate::auth::check_password_policy(&password)?;
            let hash = tokio::task::spawn_blocking(move || {
                let h = crate::auth::hash_password(&password);
                (h, password)
            })
            .await?;
            let op = store.create_operator(email.as_str(), &hash.0).await?;
            if generated {
                println!("password: {}", hash.1);
            }
            (op, "cli".to_string())
        }
        OperatorCommand::Token { email, name } => {
            let op = store
                .operator_by_email(Email::parse("email", &email)?.as_str())
                .await
                .with_context(|| format!("no operator {email}"))?;
            (op, name)
        }
    };
    let token = crate::auth::new_token();
    store
        .create_operator_token(op.id, &name, &crate::auth::token_hash(&token))
        .await?;
    println!("token: {token}");
    Ok(())
}

fn summary(stats: &crate::store::backup::BackupStats) -> String {
    stats
        .tables
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn open(db: &DbArgs) -> anyhow::Result<Store> {
    open_url(db).await.map(|(s, _)| s)
}

async fn open_url(db: &DbArgs) -> anyhow::Result<(Store, String)> {
    let url = db
        .url()
        .with_context(|| format!("cannot create data dir {}", db.data_dir.display()))?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", redact_url(&url)))?;
    Ok((store, url))
}

async fn run_server(db: &DbArgs, args: ServeArgs) -> anyhow::Result<()> {
    let public_url = args
        .mail
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    check_public_url(&public_url, args.listen, args.allow_insecure_http)?;
    let (store, url) = open_url(db).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(listen = %listener.local_addr()?, database = store.backend().name(), version = env!("CARGO_PKG_VERSION"), "storedesk is serving");
    let _ = std::io::stdout().flush();
    let options = crate::jobs::Options {
        event_retention: std::time::Duration::from_secs(args.event_retention_days.max(1) * 86_400),
        ..Default::default()
    };
    let mut state = AppState::start_with(store.clone(), &url, Some(&db.data_dir), options).await?;
    state.svc.webhooks.set_allow_private(args.webhooks_allow_private);
    state.svc.monitors.set_allow(args.monitor_allow.0.clone());
    state.svc.monitors.set_min_interval_s(args.monitor_min_interval);
    state.svc.monitors.set_rdap_url(&args.rdap_url);
    let mut mail = args.mail.clone();
    mail.public_url = Some(public_url.clone());
    let mut site = crate::app::Site::new(&public_url);
    site.trusted_proxies = args.trusted_proxies.clone();
    site.mail_domain = mail.mail_domain.clone();
    site.mail_relay = mail.smtp_relay.clone();
    site.telegram_api_url = args.telegram_api_url.trim_end_matches('/').to_string();
    site.signup = args.signup;
    site.metrics = match &args.metrics_token {
        Some(t) => crate::app::MetricsAccess::Token(<sha2::Sha256 as sha2::Digest>::digest(t.as_bytes()).into()),
        None => crate::app::MetricsAccess::Open,
    };
    if let Some(addr) = args.metrics_listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics"))?;
        let router = crate::http::metrics_router(state.clone(), site.clone());
        let mut stop = state.shutdown.watch();
        tokio::spawn(async move {
            let _ = axum::serve(l, router)
                .with_graceful_shutdown(async move { crate::jobs::stopped(&mut stop).await })
                .await;
        });
        site.metrics = crate::app::MetricsAccess::Elsewhere;
    }
    state.site = std::sync::Arc::new(site);
    crate::jobs::start_mail(&state, &mail).await?;
    let jobs = state.shutdown.clone();
    serve(listener, state, shutdown_signal()).await?;
    jobs.stop(std::time::Duration::from_secs(5)).await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Refuses plain http where other machines can reach us, unless the
/// operator said so: sign-in would send passwords and session cookies in
/// the clear.
fn check_public_url(public_url: &str, listen: std::net::SocketAddr, allow_insecure: bool) -> anyhow::Result<()> {
    let url = url::Url::parse(public_url).with_context(|| format!("--public-url '{public_url}' is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("--public-url must be an http(s) address such as https://help.acme.test, not '{public_url}'");
    }
    if url.scheme() == "http" && !listen.ip().is_loopback() && !allow_insecure {
        bail!(
            "storedesk would serve sign-in over plain http on {listen} ({public_url}), where passwords and session \
             cookies cross the network unencrypted.\n\
             Either put TLS in front (nginx, Caddy) and pass --public-url https://your.host, \
             or listen on 127.0.0.1 only, \
             or accept it for a trial on a private network with --allow-insecure-http."
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
