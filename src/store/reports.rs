//! Report settings, the running totals (`report_days`), what they know of
//! each ticket (`report_tickets`), agents' online time, and reading tickets
//! from the tables when the log alone cannot say (a bulk import, a rebuild).

use std::collections::{BTreeMap, HashMap};

use sqlx::{Any, Transaction};

use super::*;
use crate::domain::digest::Digest;
use crate::domain::reports::{Dim, Fact, Rating, Settings, Slot, TicketFacts, Totals};

/// Tickets read from the tables per statement.
pub const CHUNK: i64 = 2000;

const TOTALS_COLS: &str = "created, resolved, reopened, replies, csat_count, csat_sum, csat_good, nps_count, nps_promoters, nps_detractors, first_response, first_response_bh, next_response, next_response_bh, resolution, resolution_bh";

#[derive(sqlx::FromRow)]
struct TotalsRow {
    key: String,
    day: i64,
    created: i64,
    resolved: i64,
    reopened: i64,
    replies: i64,
    csat_count: i64,
    csat_sum: i64,
    csat_good: i64,
    nps_count: i64,
    nps_promoters: i64,
    nps_detractors: i64,
    first_response: String,
    first_response_bh: String,
    next_response: String,
    next_response_bh: String,
    resolution: String,
    resolution_bh: String,
}

impl TotalsRow {
    fn into_totals(self) -> Result<(String, i64, Totals)> {
        let d = |s: &str| Digest::decode(s).map_err(StoreError::Corrupt);
        Ok((
            self.key,
            self.day,
            Totals {
                created: self.created,
                resolved: self.resolved,
                reopened: self.reopened,
                replies: self.replies,
                csat_count: self.csat_count,
                csat_sum: self.csat_sum,
                csat_good: self.csat_good,
                nps_count: self.nps_count,
                nps_promoters: self.nps_promoters,
                nps_detractors: self.nps_detractors,
                first_response: d(&self.first_response)?,
                first_response_bh: d(&self.first_response_bh)?,
                next_response: d(&self.next_response)?,
                next_response_bh: d(&self.next_response_bh)?,
                resolution: d(&self.resolution)?,
                resolution_bh: d(&self.resolution_bh)?,
            },
        ))
    }
}

/// Which digests a report reads: each is text parsed on every row, the
/// bulk of a long range's cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digests {
    /// All six (the summary).
    All,
    /// Calendar times only, without the business-hours ones (breakdowns,
    /// the daily series), which come back empty.
    Calendar,
}

impl Digests {
    fn cols(self) -> &'static str {
        match self {
            Digests::All => TOTALS_COLS,
            Digests::Calendar => "created, resolved, reopened, replies, csat_count, csat_sum, csat_good, nps_count, nps_promoters, nps_detractors, first_response, '' AS first_response_bh, next_response, '' AS next_response_bh, resolution, '' AS resolution_bh",
        }
    }
}

/// Adds up digests as rows are read: dense buckets and one pass over each
/// row's text, instead of a map per row merged into another; made into a
/// `Digest` once, through its text form (which checks the buckets).
#[derive(Default)]
struct DigestSum {
    count: i64,
    sum: i64,
    buckets: Vec<i64>,
}

/// A decimal integer (a '-' allowed) at the start of `s`, and its length.
fn int_at(s: &[u8]) -> Option<(i64, usize)> {
    let neg = s.first() == Some(&b'-');
    let mut i = neg as usize;
    let mut v: i64 = 0;
    while let Some(d) = s.get(i).filter(|d| d.is_ascii_digit()) {
        v = v.checked_mul(10)?.checked_add((d - b'0') as i64)?;
        i += 1;
    }
    (i > neg as usize).then_some((if neg { -v } else { v }, i))
}

impl DigestSum {
    /// Adds one digest's text, `count sum b:c,b:c…` (see `Digest::encode`),
    /// read byte by byte: twice as fast as splitting and parsing each part.
    fn add(&mut self, s: &str) -> Result<()> {
        let text = s.trim();
        if text.is_empty() {
            return Ok(());
        }
        let bad = || {
            StoreError::Corrupt(format!(
                "digest {:?} is malformed",
                text.chars().take(40).collect::<String>()
            ))
        };
        let s = text.as_bytes();
        let (count, n) = int_at(s).ok_or_else(bad)?;
        let s = s[n..].strip_prefix(b" ").ok_or_else(bad)?;
        let (sum, n) = int_at(s).ok_or_else(bad)?;
        let mut s = &s[n..];
        match s.strip_prefix(b" ") {
            Some(rest) => s = rest,
            None if s.is_empty() => {}
            None => return Err(bad()),
        }
        self.count += count;
        self.sum += sum;
        while !s.is_empty() {
            if let Some(rest) = s.strip_prefix(b",") {
                s = rest;
                continue;
            }
            // Digest::decode refuses buckets out of its range at the end.
            let (b, n) = int_at(s)
                .filter(|(b, _)| (0..=u16::MAX as i64).contains(b))
                .ok_or_else(bad)?;
            let rest = s[n..].strip_prefix(b":").ok_or_else(bad)?;
            let (c, n) = int_at(rest).ok_or_else(bad)?;
            s = &rest[n..];
            if s.first().is_some_and(|x| *x != b',') {
                return Err(bad());
            }
            let b = b as usize;
            if b >= self.buckets.len() {
                self.buckets.resize(b + 1, 0);
            }
            self.buckets[b] += c;
        }
        Ok(())
    }

    fn finish(&self) -> Result<Digest> {
        use std::fmt::Write;
        let mut s = String::new();
        if self.count != 0 || self.buckets.iter().any(|c| *c != 0) {
            let _ = write!(s, "{} {} ", self.count, self.sum);
            for (b, c) in self.buckets.iter().enumerate().filter(|(_, c)| **c != 0) {
                let _ = write!(s, "{b}:{c},");
            }
        }
        Digest::decode(&s).map_err(StoreError::Corrupt)
    }
}

/// The sum of many rows of totals, as they are read.
#[derive(Default)]
struct TotalsSum {
    counts: Totals,
    digests: [DigestSum; 6],
}

impl TotalsSum {
    fn add(&mut self, r: &TotalsRow) -> Result<()> {
        let c = &mut self.counts;
        c.created += r.created;
        c.resolved += r.resolved;
        c.reopened += r.reopened;
        c.replies += r.replies;
        c.csat_count += r.csat_count;
        c.csat_sum += r.csat_sum;
        c.csat_good += r.csat_good;
        c.nps_count += r.nps_count;
        c.nps_promoters += r.nps_promoters;
        c.nps_detractors += r.nps_detractors;
        let texts = [
            &r.first_response,
            &r.first_response_bh,
            &r.next_response,
            &r.next_response_bh,
            &r.resolution,
            &r.resolution_bh,
        ];
        // One row's text, or several rows' joined by ';' (see report_sums).
        for (d, t) in self.digests.iter_mut().zip(texts) {
            for one in t.split(';') {
                d.add(one)?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Totals> {
        let [a, b, c, d, e, f] = &self.digests;
        Ok(Totals {
            first_response: a.finish()?,
            first_response_bh: b.finish()?,
            next_response: c.finish()?,
            next_response_bh: d.finish()?,
            resolution: e.finish()?,
            resolution_bh: f.finish()?,
            ..self.counts
        })
    }
}

/// Which tickets to read from the tables.
#[derive(Debug, Clone, Copy)]
pub enum FromTables<'a> {
    /// These tickets.
    Ids(&'a [i64]),
    /// The next chunk after this id (a rebuild).
    After(i64),
    /// Numbers `from..from+count` (a bulk import).
    Numbers(i64, i64),
}

impl Store {
    pub async fn report_settings(&self, workspace_id: i64) -> Result<Settings> {
        let raw: Option<String> = sqlx::query_scalar("SELECT reports FROM workspace_settings WHERE workspace_id = $1")
            .bind(workspace_id)
            .fetch_optional(&self.read)
            .await?;
        match raw {
            Some(r) => serde_json::from_str(&r).map_err(|e| StoreError::Corrupt(format!("report settings: {e}"))),
            None => Ok(Settings::default()),
        }
    }

    pub async fn save_report_settings(&self, workspace_id: i64, s: &Settings, by: i64) -> Result<()> {
        let json = serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO workspace_settings (workspace_id, widget, reports, updated_at) VALUES ($1, '{}', $2, $3) ON CONFLICT (workspace_id) DO UPDATE SET reports = excluded.reports, updated_at = excluded.updated_at")
            .bind(workspace_id)
            .bind(&json)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        super::people::audit(
            &mut tx,
            workspace_id,
            Some(by),
            "report_settings.updated",
            "workspace",
            Some(workspace_id),
            &json,
            now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What the rollups know of these tickets (those they know).
    pub async fn report_facts(&self, ids: &[i64]) -> Result<HashMap<i64, TicketFacts>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let list = id_list(chunk);
            let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
                "SELECT ticket_id, state FROM report_tickets WHERE ticket_id IN ({list})"
            ))
            .fetch_all(&self.read)
            .await?;
            for (id, state) in rows {
                let f = serde_json::from_str(&state).map_err(|e| StoreError::Corrupt(format!("report facts: {e}")))?;
                out.insert(id, f);
            }
        }
        Ok(out)
    }

    /// Reads tickets of a workspace from the tables as facts, oldest first;
    /// `business` gives business milliseconds between two instants.
    pub async fn facts_from_tables(
        &self,
        workspace_id: i64,
        which: FromTables<'_>,
        business: &(dyn Fn(i64, i64) -> i64 + Sync),
    ) -> Result<Vec<(i64, TicketFacts)>> {
        const COLS: &str =
            "id, created_at, channel, team_id, assignee_id, kind, status, resolved_at, updated_at, merged_into";
        type Row = (
            i64,
            i64,
            String,
            Option<i64>,
            Option<i64>,
            Option<String>,
            String,
            Option<i64>,
            i64,
            Option<i64>,
        );
        let rows: Vec<Row> = match which {
            FromTables::Ids([]) => vec![],
            FromTables::Ids(ids) => {
                sqlx::query_as(&format!(
                    "SELECT {COLS} FROM tickets WHERE workspace_id = $1 AND id IN ({}) ORDER BY id",
                    id_list(ids)
                ))
                .bind(workspace_id)
                .fetch_all(&self.read)
                .await?
            }
            FromTables::After(after) => {
                sqlx::query_as(&format!(
                    "SELECT {COLS} FROM tickets WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
                ))
                .bind(workspace_id)
                .bind(after)
                .bind(CHUNK)
                .fetch_all(&self.read)
                .await?
            }
            FromTables::Numbers(from, count) => {
                sqlx::query_as(&format!(
                    "SELECT {COLS} FROM tickets WHERE workspace_id = $1 AND number >= $2 AND number < $3 ORDER BY id"
                ))
                .bind(workspace_id)
                .bind(from)
                .bind(from.saturating_add(count))
                .fetch_all(&self.read)
                .await?
            }
        };
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let mut labels: HashMap<i64, Vec<String>> = HashMap::new();
        // Per ticket: (message id, author type, author id, when).
        type Said = (i64, String, Option<i64>, i64);
        let mut messages: HashMap<i64, Vec<Said>> = HashMap::new();
        let mut ratings: HashMap<i64, Rating> = HashMap::new();
        for chunk in ids.chunks(1000) {
            let list = id_list(chunk);
            let ls: Vec<(i64, String)> = sqlx::query_as(&format!(
                "SELECT ticket_id, label FROM ticket_labels WHERE ticket_id IN ({list}) ORDER BY ticket_id, label"
            ))
            .fetch_all(&self.read)
            .await?;
            for (t, l) in ls {
                labels.entry(t).or_default().push(l);
            }
            let ms: Vec<(i64, i64, String, Option<i64>, i64)> = sqlx::query_as(&format!(
                "SELECT ticket_id, id, author_type, author_id, created_at FROM messages WHERE ticket_id IN ({list}) AND kind = 'reply' ORDER BY ticket_id, id"
            ))
            .fetch_all(&self.read)
            .await?;
            for (t, id, who, by, at) in ms {
                messages.entry(t).or_default().push((id, who, by, at));
            }
            let rs: Vec<(i64, i64, Option<i64>, i64)> = sqlx::query_as(&format!(
                "SELECT ticket_id, score, agent_id, answered_at FROM csat_responses WHERE ticket_id IN ({list}) AND score IS NOT NULL AND answered_at IS NOT NULL"
            ))
            .fetch_all(&self.read)
            .await?;
            for (t, score, agent, at) in rs {
                ratings.insert(t, Rating { at, score, agent });
            }
        }
        let business_s = |a: i64, b: i64| business(a, b);
        let mut out = Vec::with_capacity(rows.len());
        for (id, created_at, channel, team, assignee, kind, status, resolved_at, updated_at, merged_into) in rows {
            let mut f = TicketFacts::default();
            f.apply(
                Fact::Created {
                    at: created_at,
                    channel,
                    team,
                    labels: labels.remove(&id).unwrap_or_default(),
                },
                &business_s,
            );
            f.apply(Fact::Assignee(assignee), &business_s);
            f.apply(Fact::Kind(kind), &business_s);
            for (mid, who, by, at) in messages.remove(&id).unwrap_or_default() {
                match (who.as_str(), by) {
                    ("contact", _) => f.apply(Fact::CustomerWrote { at, message: mid }, &business_s),
                    ("agent", Some(by)) => f.apply(Fact::AgentReplied { at, by, message: mid }, &business_s),
                    _ => {}
                }
            }
            if merged_into.is_some() {
                f.apply(Fact::Merged, &business_s);
            } else if matches!(status.as_str(), "resolved" | "closed") {
                let at = resolved_at.unwrap_or(updated_at);
                f.apply(Fact::Done { at, done: true }, &business_s);
            }
            if let Some(r) = ratings.remove(&id) {
                f.apply(Fact::Csat(r), &business_s);
            }
            out.push((id, f));
        }
        Ok(out)
    }

    /// Writes what a page of events did to the totals and the tickets'
    /// facts, with consumer `name`'s new position, while `owner` holds its
    /// lease (`None`: a rebuild, which runs inside the consumer). False: the
    /// lease is gone and nothing was written.
    pub async fn save_rollups(
        &self,
        lease: Option<(&str, &str, i64)>,
        facts: &[(i64, i64, TicketFacts)],
        totals: &BTreeMap<(i64, Slot), Totals>,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        if let Some((name, owner, position)) = lease {
            if !super::events::advance_in(&mut tx, name, owner, position).await? {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        for chunk in facts.chunks(500) {
            let mut q = super::query::Sql::new("INSERT INTO report_tickets (ticket_id, workspace_id, state) VALUES ");
            for (i, (ws, id, f)) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                let state = serde_json::to_string(f).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let (a, b, c) = (q.arg(*id), q.arg(*ws), q.arg(state));
                q.push(&format!("({a}, {b}, {c})"));
            }
            q.push(" ON CONFLICT (ticket_id) DO UPDATE SET state = excluded.state");
            q.query().execute(&mut *tx).await?;
        }
        add_totals(&mut tx, totals).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn workspace_ids(&self) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM workspaces ORDER BY id")
            .fetch_all(&self.read)
            .await?)
    }

    /// Workspaces whose totals wait to be built again from the tables.
    pub async fn pending_rebuilds(&self) -> Result<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT workspace_id FROM report_rebuilds ORDER BY workspace_id")
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// Asks for a workspace's totals to be built again from the tables (the
    /// reports consumer does it when it next reads the log).
    /// The event wakes the consumer even when nothing else happens.
    pub async fn request_report_rebuild(&self, workspace_id: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO report_rebuilds (workspace_id, requested_at) VALUES ($1, $2) ON CONFLICT (workspace_id) DO UPDATE SET requested_at = excluded.requested_at")
            .bind(workspace_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        let ev = crate::domain::event::NewEvent::new(
            workspace_id,
            crate::domain::event::EventType::ReportsReset,
            crate::domain::event::EventActor::System,
        );
        self.commit_with(tx, vec![ev]).await?;
        Ok(())
    }

    /// A workspace's NPS answers: when, and the score.
    pub async fn nps_answers(&self, workspace_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT answered_at, score FROM nps_surveys WHERE workspace_id = $1 AND score IS NOT NULL AND answered_at IS NOT NULL",
        )
        .bind(workspace_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// The NPS answers (when, the score) given by `until` to the surveys of
    /// tickets numbered `from..from+count`: a bulk import's, which came
    /// without `nps.answered` events (later answers have their own).
    pub async fn nps_answers_of_numbers(
        &self,
        workspace_id: i64,
        from: i64,
        count: i64,
        until: i64,
    ) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT answered_at, score FROM nps_surveys WHERE workspace_id = $1 AND score IS NOT NULL AND answered_at <= $4 \
             AND ticket_id IN (SELECT id FROM tickets WHERE workspace_id = $1 AND number >= $2 AND number < $3)",
        )
        .bind(workspace_id)
        .bind(from)
        .bind(from.saturating_add(count))
        .bind(until)
        .fetch_all(&self.read)
        .await?)
    }

    /// Forgets a workspace's totals and facts before they are built again.
    pub async fn clear_reports(&self, workspace_id: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for table in ["report_days", "report_tickets"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE workspace_id = $1"))
                .bind(workspace_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks a rebuild done, unless it was asked again since `started`.
    pub async fn finish_rebuild(&self, workspace_id: i64, started: i64) -> Result<()> {
        sqlx::query("DELETE FROM report_rebuilds WHERE workspace_id = $1 AND requested_at <= $2")
            .bind(workspace_id)
            .bind(started)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The rows of one dimension (and key, when given) over local days
    /// `from..=to`, with the digests asked for.
    pub async fn report_rows(
        &self,
        workspace_id: i64,
        dim: Dim,
        key: Option<&str>,
        from: i64,
        to: i64,
        digests: Digests,
    ) -> Result<Vec<(String, i64, Totals)>> {
        let select = format!("key, day, {}", digests.cols());
        let rows = self
            .totals_rows(&select, workspace_id, dim, key, (from, to), "")
            .await?;
        rows.into_iter().map(TotalsRow::into_totals).collect()
    }

    /// The totals of one dimension (and key, when given) over local days
    /// `from..=to`, added up per key. The database adds the counts and
    /// joins each key's digests (`;` between rows' texts), so a year of
    /// days comes back as one row per key: reading a row costs more than
    /// parsing its digests.
    pub async fn report_sums(
        &self,
        workspace_id: i64,
        dim: Dim,
        key: Option<&str>,
        from: i64,
        to: i64,
        digests: Digests,
    ) -> Result<BTreeMap<String, Totals>> {
        let join = match self.backend {
            Backend::Postgres => "string_agg",
            _ => "group_concat",
        };
        let mut cols = vec!["key".to_string(), "CAST(0 AS BIGINT) AS day".to_string()];
        for c in TOTALS_COLS.split(", ") {
            cols.push(match c {
                "first_response_bh" | "next_response_bh" | "resolution_bh" if digests != Digests::All => {
                    format!("'' AS {c}")
                }
                "first_response" | "first_response_bh" | "next_response" | "next_response_bh" | "resolution"
                | "resolution_bh" => format!("{join}({c}, ';') AS {c}"),
                _ => format!("CAST(SUM({c}) AS BIGINT) AS {c}"),
            });
        }
        let rows = (self.totals_rows(&cols.join(", "), workspace_id, dim, key, (from, to), " GROUP BY key")).await?;
        rows.into_iter()
            .map(|r| {
                let mut sum = TotalsSum::default();
                sum.add(&r)?;
                Ok((r.key, sum.finish()?))
            })
            .collect()
    }

    async fn totals_rows(
        &self,
        select: &str,
        workspace_id: i64,
        dim: Dim,
        key: Option<&str>,
        (from, to): (i64, i64),
        group: &str,
    ) -> Result<Vec<TotalsRow>> {
        let mut q = super::query::Sql::new(&format!("SELECT {select} FROM report_days WHERE workspace_id = "));
        let p = q.arg(workspace_id);
        q.push(&p);
        let p = q.arg(dim.column().to_string());
        q.push(&format!(" AND dim = {p}"));
        if let Some(k) = key {
            let p = q.arg(k.to_string());
            q.push(&format!(" AND key = {p}"));
        }
        let (a, b) = (q.arg(from), q.arg(to));
        q.push(&format!(" AND day BETWEEN {a} AND {b}{group}"));
        Ok(q.query_as().fetch_all(&self.read).await?)
    }

    /// Tickets created over local days `from..=to` per key of a dimension
    /// (the heatmap: counted by the database, no digest read).
    pub async fn report_created(&self, workspace_id: i64, dim: Dim, from: i64, to: i64) -> Result<Vec<(String, i64)>> {
        let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
            "SELECT key, CAST(SUM(created) AS BIGINT) FROM report_days WHERE workspace_id = $1 AND dim = $2 AND day BETWEEN $3 AND $4 GROUP BY key",
        )
        .bind(workspace_id)
        .bind(dim.column())
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|(k, n)| (k, n.unwrap_or(0))).collect())
    }

    /// Created, resolved and reopened before local day `day` (the backlog
    /// the range starts with) for one dimension key.
    pub async fn report_counts_before(
        &self,
        workspace_id: i64,
        dim: Dim,
        key: &str,
        day: i64,
    ) -> Result<(i64, i64, i64)> {
        let row: (Option<i64>, Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT CAST(SUM(created) AS BIGINT), CAST(SUM(resolved) AS BIGINT), CAST(SUM(reopened) AS BIGINT) FROM report_days WHERE workspace_id = $1 AND dim = $2 AND key = $3 AND day < $4",
        )
        .bind(workspace_id)
        .bind(dim.column())
        .bind(key)
        .bind(day)
        .fetch_one(&self.read)
        .await?;
        Ok((row.0.unwrap_or(0), row.1.unwrap_or(0), row.2.unwrap_or(0)))
    }

    /// Adds `seconds` of availability to each of these agents on `day`.
    pub async fn add_online(&self, workspace_id: i64, users: &[i64], day: i64, seconds: i64) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        let mut q = super::query::Sql::new("INSERT INTO agent_online (workspace_id, user_id, day, seconds) VALUES ");
        for (i, u) in users.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            let (a, b, c, d) = (q.arg(workspace_id), q.arg(*u), q.arg(day), q.arg(seconds));
            q.push(&format!("({a}, {b}, {c}, {d})"));
        }
        q.push(
            " ON CONFLICT (workspace_id, user_id, day) DO UPDATE SET seconds = agent_online.seconds + excluded.seconds",
        );
        q.query().execute(&self.write).await?;
        Ok(())
    }

    /// Every workspace's agents available now (set online, or on auto
    /// with a console open), for the online-time sampler.
    pub async fn agents_available(&self) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT u.workspace_id, u.id FROM users u LEFT JOIN agent_presence p ON p.user_id = u.id AND p.status = 'online' AND p.last_seen_at > $1 \
             WHERE u.active = 1 AND (u.availability = 'online' OR (u.availability = 'auto' AND p.user_id IS NOT NULL)) ORDER BY u.workspace_id, u.id",
        )
        .bind(now_ms() - super::routing::PRESENCE_MS)
        .fetch_all(&self.read)
        .await?)
    }

    /// Seconds online per agent over local days `from..=to`.
    pub async fn online_seconds(&self, workspace_id: i64, from: i64, to: i64) -> Result<HashMap<i64, i64>> {
        let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT user_id, CAST(SUM(seconds) AS BIGINT) FROM agent_online WHERE workspace_id = $1 AND day BETWEEN $2 AND $3 GROUP BY user_id",
        )
        .bind(workspace_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|(u, s)| (u, s.unwrap_or(0))).collect())
    }

    /// Missing features by how many different customers asked for them.
    pub async fn feature_tally(&self, workspace_id: i64, limit: i64) -> Result<Vec<(String, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT feature, COUNT(DISTINCT contact_id), COUNT(*) FROM tickets WHERE workspace_id = $1 AND feature IS NOT NULL AND kind = 'missing_feature' GROUP BY feature ORDER BY 2 DESC, 1 LIMIT $2",
        )
        .bind(workspace_id)
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.read)
        .await?)
    }
}

/// The ids as a literal list: integers only, so nothing to escape.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// Adds changes to the totals: each touched row is read, merged and
/// written back (digests cannot be added in SQL); rows that come to
/// nothing are deleted.
async fn add_totals(tx: &mut Transaction<'_, Any>, totals: &BTreeMap<(i64, Slot), Totals>) -> Result<()> {
    type Rows<'a> = Vec<(i64, &'a Totals)>;
    let mut by_key: BTreeMap<(i64, Dim, &str), Rows> = BTreeMap::new();
    for ((ws, (dim, key, day)), t) in totals {
        if !t.is_zero() {
            by_key.entry((*ws, *dim, key.as_str())).or_default().push((*day, t));
        }
    }
    for ((ws, dim, key), days) in by_key {
        let (lo, hi) = days
            .iter()
            .fold((i64::MAX, i64::MIN), |(a, b), (d, _)| (a.min(*d), b.max(*d)));
        let rows: Vec<TotalsRow> = sqlx::query_as(&format!(
            "SELECT key, day, {TOTALS_COLS} FROM report_days WHERE workspace_id = $1 AND dim = $2 AND key = $3 AND day BETWEEN $4 AND $5"
        ))
        .bind(ws)
        .bind(dim.column())
        .bind(key)
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut **tx)
        .await?;
        let mut have: HashMap<i64, Totals> = HashMap::new();
        for r in rows {
            let (_, day, t) = r.into_totals()?;
            have.insert(day, t);
        }
        for (day, change) in days {
            let mut t = have.remove(&day).unwrap_or_default();
            t.merge(change, 1);
            if t.is_zero() {
                sqlx::query("DELETE FROM report_days WHERE workspace_id = $1 AND dim = $2 AND key = $3 AND day = $4")
                    .bind(ws)
                    .bind(dim.column())
                    .bind(key)
                    .bind(day)
                    .execute(&mut **tx)
                    .await?;
                continue;
            }
            sqlx::query(&format!(
                "INSERT INTO report_days (workspace_id, dim, key, day, {TOTALS_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) \
                 ON CONFLICT (workspace_id, dim, key, day) DO UPDATE SET created = excluded.created, resolved = excluded.resolved, reopened = excluded.reopened, replies = excluded.replies, \
                 csat_count = excluded.csat_count, csat_sum = excluded.csat_sum, csat_good = excluded.csat_good, nps_count = excluded.nps_count, nps_promoters = excluded.nps_promoters, \
                 nps_detractors = excluded.nps_detractors, first_response = excluded.first_response, first_response_bh = excluded.first_response_bh, next_response = excluded.next_response, \
                 next_response_bh = excluded.next_response_bh, resolution = excluded.resolution, resolution_bh = excluded.resolution_bh"
            ))
            .bind(ws)
            .bind(dim.column())
            .bind(key)
            .bind(day)
            .bind(t.created)
            .bind(t.resolved)
            .bind(t.reopened)
            .bind(t.replies)
            .bind(t.csat_count)
            .bind(t.csat_sum)
            .bind(t.csat_good)
            .bind(t.nps_count)
            .bind(t.nps_promoters)
            .bind(t.nps_detractors)
            .bind(t.first_response.encode())
            .bind(t.first_response_bh.encode())
            .bind(t.next_response.encode())
            .bind(t.next_response_bh.encode())
            .bind(t.resolution.encode())
            .bind(t.resolution_bh.encode())
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adding rows' text as it is read gives the digest that merging the
    /// decoded rows gives, take-aways (negative counts) included.
    #[test]
    fn digest_sums_match_merged_digests() {
        let mut seed = 11u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let (mut merged, mut sum) = (Digest::default(), DigestSum::default());
        for row in 0..200 {
            let mut d = Digest::default();
            for _ in 0..next(40) {
                d.add(next(86_400 * 30) as i64 / (1 + next(1000) as i64));
            }
            let sign = if row % 7 == 3 { -1 } else { 1 };
            merged.merge(&d, sign);
            let mut text = d.clone();
            if sign < 0 {
                text = Digest::default();
                text.merge(&d, -1);
            }
            sum.add(&text.encode()).unwrap();
        }
        sum.add("").unwrap();
        assert_eq!(sum.finish().unwrap(), merged);
        assert!(DigestSum::default().finish().unwrap().is_empty());
        for bad in ["x", "1", "1 2 a:b", "1 2 70000:1", "1 2 3", "1 2 3:", "1 2x"] {
            assert!(DigestSum::default().add(bad).is_err(), "{bad}");
        }
        for bad in ["1 2 3:4;5", "1 2 3:4 5:6"] {
            assert!(DigestSum::default().add(bad).is_err(), "{bad}");
        }
        for good in ["1 2", "1 2 ", "-1 -2 3:-1,4:1,", "5 6 ,1:2,,3:4"] {
            assert!(DigestSum::default().add(good).is_ok(), "{good}");
        }
        let mut out_of_range = DigestSum::default();
        out_of_range.add("1 2 9999:1").unwrap();
        assert!(out_of_range.finish().is_err());
    }
}
