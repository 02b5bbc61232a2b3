//! Site monitors: making and changing them (validated, their address
//! checked against the SSRF guard), and running one check: the probe, the
//! state machine's decision, and recording both (incident ticket, note,
//! resolution and the `monitor.*` event in one transaction).

use serde_json::Value;

use super::Services;
use crate::domain::monitor::{decide, first_offset_ms, parse_date, parse_spec, MonitorKind, Outcome, Spec};
use crate::domain::{Actor, Invalid};
use crate::events::Hint;
use crate::monitors::http::Probe;
use crate::store::monitors::{CheckResult, Monitor};
use crate::store::{now_ms, Result};

/// The clients a node's checks share.
pub struct Probes {
    pub http: reqwest::Client,
    pub rdap: reqwest::Client,
}

impl Services {
    /// Refuses an HTTP or TLS monitor whose host is (or resolves to) an
    /// address the operator has not allowed.
    async fn check_monitor_target(&self, spec: &Spec) -> Result<()> {
        let allow = self.monitors.allowed();
        let (field, url) = match spec.kind {
            MonitorKind::Http => ("url", spec.str("url").unwrap_or("").to_string()),
            MonitorKind::Tls => ("host", format!("https://{}/", bracket(spec.str("host").unwrap_or("")))),
            _ => return Ok(()),
        };
        let u = url::Url::parse(&url).map_err(|_| Invalid::new(field, "is not a valid address"))?;
        crate::webhooks::client::check_destination_for(&u, &allow, "monitors")
            .await
            .map_err(|e| Invalid::new(field, e).into())
    }

    pub async fn create_monitor(&self, actor: &Actor, body: &Value) -> Result<Monitor> {
        let spec = parse_spec(body, self.monitors.min_interval_s())?;
        self.check_monitor_target(&spec).await?;
        let first = now_ms() + first_offset_ms(spec.interval_s, rand::random::<f64>());
        self.store.create_monitor(actor.workspace_id, &spec, first).await
    }

    /// A PATCH: the given fields laid over the stored ones, validated whole
    /// (the kind cannot change).
    pub async fn update_monitor(&self, actor: &Actor, id: i64, body: &Value) -> Result<Monitor> {
        let m = self.store.monitor(actor.workspace_id, id).await?;
        let patch = body
            .as_object()
            .ok_or_else(|| Invalid::new("body", "must be a JSON object"))?;
        if patch.get("kind").is_some_and(|k| k.as_str() != Some(m.kind.as_str())) {
            return Err(Invalid::new("kind", "cannot change; make a new monitor").into());
        }
        let mut merged = m.fields.clone();
        merged.insert("kind".into(), m.kind.as_str().into());
        merged.insert("name".into(), m.name.clone().into());
        merged.insert("interval_s".into(), m.interval_s.into());
        merged.insert("active".into(), m.active.into());
        for (k, v) in patch {
            merged.insert(k.clone(), v.clone());
        }
        let spec = parse_spec(&Value::Object(merged), self.monitors.min_interval_s())?;
        self.check_monitor_target(&spec).await?;
        self.store.update_monitor(actor.workspace_id, id, &spec).await
    }

    /// Checks claimed monitor `m` and records what it came to.
    pub async fn run_monitor_check(&self, m: &Monitor, probes: &Probes) -> Result<()> {
        let spec = m.spec();
        let checked_at = now_ms();
        let probe = match m.kind {
            MonitorKind::Http => crate::monitors::http::check(&probes.http, &self.monitors.allowed(), &spec).await,
            MonitorKind::Tls => crate::monitors::tls::check(&self.monitors.allowed(), &spec).await,
            MonitorKind::Domain => crate::monitors::rdap::check(&probes.rdap, &self.monitors.rdap_url(), &spec).await,
            MonitorKind::Date => Probe {
                outcome: match spec.str("date").map(parse_date) {
                    Some(Ok(at)) => Outcome::Ok { expires_at: Some(at) },
                    _ => Outcome::Failed("the date is not valid".into()),
                },
                response_ms: None,
                status: None,
            },
        };
        let d = decide(
            m.state,
            m.failures,
            &probe.outcome,
            checked_at,
            spec.warn_ms(),
            m.interval_s * 1000,
            self.monitors.retry_ms(),
        );
        let (error, expires_at) = match &probe.outcome {
            Outcome::Failed(e) => (Some(e.clone()), None),
            Outcome::Ok { expires_at } => (None, *expires_at),
        };
        let c = CheckResult {
            checked_at,
            response_ms: probe.response_ms,
            status: probe.status,
            error,
            expires_at,
        };
        let logged = self.store.record_monitor_check(m, &c, &d).await?;
        if !logged.is_empty() {
            metrics::counter!("storedesk_monitor_incidents_total", "kind" => m.kind.as_str()).increment(1);
            self.logged(&logged, Hint::default());
        }
        Ok(())
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}
