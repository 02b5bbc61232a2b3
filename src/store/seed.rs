//! `storedesk seed`: a demo workspace filled with a realistic mix of
//! tickets, for trying the console and measuring it at scale. Rows go in as
//! multi-row inserts of generated values (no user input), many thousands
//! per statement, so a million tickets take seconds, not hours.

use crate::domain::calendar::{Calendar, Schedule};
use crate::domain::event::{EventActor, EventType, NewEvent};
use rand::rngs::StdRng as SmallRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::domain::{Email, Role};

pub const DEMO_SLUG: &str = "demo-store";
pub const DEMO_ADMIN: &str = "admin@demo-store.test";
pub const DEMO_PASSWORD: &str = "demo password 123";
const AGENTS: usize = 12;
const TEAMS: [&str; 3] = ["Delivery", "Returns", "Payments"];
const SUBJECTS: [&str; 12] = [
    "Where is my order",
    "Parcel has not arrived",
    "Payment failed but money was taken",
    "Change the size of my order",
    "Promo code does not work",
    "Return a damaged item",
    "Refund has not arrived",
    "Change delivery address",
    "Warranty repair",
    "Wrong colour delivered",
    "Cancel my order",
    "Invoice for my company",
];
const BODIES: [&str; 6] = [
    "Hello, I ordered last week and still have no tracking number. Could you check please?",
    "The courier says the parcel was delivered but I have nothing. Order number is in the subject.",
    "My card was charged twice and the order shows as failed. Please refund one payment.",
    "I would like to exchange the dress for size M, it is too small.",
    "The code WINTER10 says it is expired but the newsletter says it works until Sunday.",
    "The box arrived crushed and the lamp is broken. Photos attached.",
];
const REPLY: &str = "Thank you for writing! I have checked your order and sorted it out; you will get an e-mail with the details shortly.";
const AGAIN: &str = "Thanks! One more thing: could you also send me the invoice for this order?";
const REPLY_AGAIN: &str = "Of course, the invoice is attached. Have a nice day!";
/// Request kinds, on about 40% of the tickets.
const KINDS: [(&str, u32); 5] = [
    ("question", 40),
    ("order_problem", 30),
    ("bug", 10),
    ("missing_feature", 12),
    ("unclear_feature", 8),
];
/// What missing-feature tickets ask for.
const FEATURES: [(&str, u32); 8] = [
    ("Gift wrapping", 30),
    ("Pay by installments", 25),
    ("Order tracking by SMS", 15),
    ("Click and collect", 10),
    ("Delivery time slots", 8),
    ("Wish list sharing", 6),
    ("Apple Pay", 4),
    ("Invoice in the customer account", 2),
];
/// CSAT scores (1–5): about 85% good (4 or 5).
const CSAT: [(&str, u32); 5] = [("5", 68), ("4", 17), ("3", 6), ("2", 3), ("1", 6)];
/// NPS scores (0–10).
const NPS: [(&str, u32); 11] = [
    ("10", 30),
    ("9", 24),
    ("8", 14),
    ("7", 9),
    ("6", 5),
    ("5", 5),
    ("4", 3),
    ("3", 3),
    ("2", 2),
    ("1", 2),
    ("0", 3),
];
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// When tickets arrive: each hour of the seeded span weighted (busy weekday
/// daytime, quiet nights and weekends, UTC), so that spreading tickets
/// evenly over the cumulative weight keeps numbers growing with time.
struct Arrivals {
    start: i64,
    cum: Vec<f64>,
}

impl Arrivals {
    fn new(from: i64, to: i64) -> Self {
        const BY_HOUR: [f64; 24] = [
            0.15, 0.1, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 1.0, 1.5, 1.7, 1.7, 1.5, 1.5, 1.6, 1.5, 1.4, 1.2, 1.0, 0.9, 0.9,
            0.8, 0.5, 0.3,
        ];
        // Monday first.
        const BY_DAY: [f64; 7] = [1.15, 1.1, 1.05, 1.0, 0.95, 0.6, 0.5];
        let start = from.div_euclid(HOUR) * HOUR;
        let (mut cum, mut total, mut h) = (Vec::new(), 0.0, start);
        while h < to.max(start + 1) {
            // 1970-01-01 was a Thursday.
            let weekday = (h.div_euclid(DAY) + 3).rem_euclid(7) as usize;
            total += BY_HOUR[(h.rem_euclid(DAY) / HOUR) as usize] * BY_DAY[weekday];
            cum.push(total);
            h += HOUR;
        }
        Self { start, cum }
    }

    /// The instant at fraction `u` (0..1) of all arrivals.
    fn at(&self, u: f64) -> i64 {
        let total = self.cum.last().copied().unwrap_or(0.0);
        let target = u.clamp(0.0, 1.0) * total;
        let i = self.cum.partition_point(|c| *c < target).min(self.cum.len() - 1);
        let before = if i == 0 { 0.0 } else { self.cum[i - 1] };
        let w = self.cum[i] - before;
        let frac = if w > 0.0 { (target - before) / w } else { 0.0 };
        self.start + i as i64 * HOUR + (frac * HOUR as f64) as i64
    }
}

/// A value between `lo` and `hi`, uniform on a log scale (many small, a few large).
fn log_uniform(rng: &mut SmallRng, lo: f64, hi: f64) -> f64 {
    lo * (hi / lo).powf(rng.gen::<f64>())
}

/// How long an agent takes to answer a customer who wrote at `at`, in ms:
/// mostly minutes once the team is in (seconds to minutes on chat), a tail
/// of hours; written outside business hours, most wait for the next opening.
fn reply_delay(rng: &mut SmallRng, hours: &Schedule, at: i64, chat: bool) -> i64 {
    let r: f64 = rng.gen();
    let mut minutes = if r < 0.7 {
        log_uniform(rng, 0.5, 15.0)
    } else if r < 0.93 {
        log_uniform(rng, 15.0, 120.0)
    } else {
        log_uniform(rng, 120.0, 720.0)
    };
    if chat {
        minutes /= 4.0;
    }
    // A few are answered at once by whoever is on call.
    let start = if rng.gen_bool(0.85) {
        hours.next_opening(at).unwrap_or(at)
    } else {
        at
    };
    start - at + (minutes * MINUTE as f64) as i64
}

/// From the last reply to the resolution, in ms.
fn resolve_delay(rng: &mut SmallRng) -> i64 {
    let r: f64 = rng.gen();
    let minutes = if r < 0.55 {
        log_uniform(rng, 1.0, 20.0)
    } else if r < 0.85 {
        log_uniform(rng, 60.0, 720.0)
    } else {
        log_uniform(rng, 1440.0, 7200.0)
    };
    (minutes * MINUTE as f64) as i64
}

pub struct Seeded {
    pub workspace_id: i64,
    pub slug: String,
    pub created: usize,
    pub total: i64,
}

fn pick<'a>(rng: &mut SmallRng, weighted: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut n = rng.gen_range(0..total);
    for (v, w) in weighted {
        if n < *w {
            return v;
        }
        n -= w;
    }
    weighted[0].0
}

impl Store {
    /// The demo workspace (made on first use, with its agents and teams),
    /// topped up to `tickets` tickets.
    pub async fn seed(&self, tickets: usize, password_hash: &str) -> Result<Seeded> {
        let ws = match self.workspace_by_slug(DEMO_SLUG).await {
            Ok(w) => w,
            Err(StoreError::NotFound) => {
                let admin = NewUser {
                    email: Email::parse("email", DEMO_ADMIN)?,
                    name: "Dana Admin".into(),
                    role: Role::Admin,
                    teams_only: false,
                    password_hash: Some(password_hash.into()),
                };
                let (ws, admin) = self.create_workspace("Demo Store", DEMO_SLUG, admin).await?;
                let mut agents = vec![];
                for i in 1..=AGENTS {
                    let u = NewUser {
                        email: Email::parse("email", &format!("agent{i}@demo-store.test"))?,
                        name: format!("Agent {i}"),
                        role: Role::Agent,
                        teams_only: false,
                        password_hash: Some(password_hash.into()),
                    };
                    agents.push(self.create_user(ws.id, u, admin.id).await?.id);
                }
                for (k, name) in TEAMS.iter().enumerate() {
                    let team = self.create_team(ws.id, name, admin.id).await?;
                    for a in agents.iter().skip(k).step_by(TEAMS.len()) {
                        self.add_team_member(ws.id, team.id, *a, admin.id).await?;
                    }
                }
                // Business hours, so reports' business-hours figures differ
                // from the calendar ones (made before any ticket: a new
                // calendar later would ask the report totals to be rebuilt).
                let weekdays = ["mon", "tue", "wed", "thu", "fri"];
                let cal = Calendar {
                    week: weekdays
                        .iter()
                        .map(|d| (d.to_string(), vec!["09:00-18:00".to_string()]))
                        .collect(),
                    ..Calendar::always()
                };
                self.save_calendar(ws.id, None, &cal).await?;
                ws
            }
            Err(e) => return Err(e),
        };
        let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE workspace_id = $1")
            .bind(ws.id)
            .fetch_one(&self.read)
            .await?;
        let want = tickets as i64;
        if have >= want {
            return Ok(Seeded {
                workspace_id: ws.id,
                slug: ws.slug,
                created: 0,
                total: have,
            });
        }
        let users: Vec<i64> = sqlx::query_scalar("SELECT id FROM users WHERE workspace_id = $1 ORDER BY id")
            .bind(ws.id)
            .fetch_all(&self.read)
            .await?;
        let teams: Vec<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE workspace_id = $1 ORDER BY id")
            .bind(ws.id)
            .fetch_all(&self.read)
            .await?;
        let hours = self.calendar(ws.id, None).await?.schedule();
        let mut rng = SmallRng::seed_from_u64(have as u64 + 1);
        let now = now_ms();
        let span = 730 * DAY;
        let arrivals = Arrivals::new(now - span, now);
        let n = (want - have) as usize;
        let mut done = 0usize;
        while done < n {
            let batch = (n - done).min(5000);
            let mut tx = self.write.begin().await?;
            let next: (i64, i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT next_ticket_number FROM workspaces WHERE id = $1), COALESCE((SELECT MAX(id) FROM tickets), 0), COALESCE((SELECT MAX(id) FROM contacts), 0), COALESCE((SELECT MAX(id) FROM messages), 0)",
            )
            .bind(ws.id)
            .fetch_one(&mut *tx)
            .await?;
            let (number0, tid0, cid0, mid0) = next;
            let (mut contacts, mut rows, mut msgs, mut labels, mut csat, mut nps) = (
                Vec::with_capacity(batch),
                Vec::with_capacity(batch),
                Vec::with_capacity(batch * 2),
                Vec::new(),
                Vec::new(),
                Vec::new(),
            );
            let mut mid = mid0;
            for k in 0..batch {
                let i = done + k;
                let (tid, cid, number) = (tid0 + 1 + k as i64, cid0 + 1 + k as i64, number0 + k as i64);
                // Older tickets first, so numbers grow with time like real ones.
                let u = ((have + i as i64) as f64 + rng.gen::<f64>()) / want.max(1) as f64;
                let created = arrivals.at(u).min(now);
                let mut status = pick(
                    &mut rng,
                    &[("open", 3), ("pending", 2), ("resolved", 80), ("closed", 15)],
                );
                let channel = pick(
                    &mut rng,
                    &[("email", 40), ("chat", 35), ("form", 15), ("api", 5), ("phone", 5)],
                );
                let priority = pick(&mut rng, &[("normal", 80), ("high", 12), ("low", 5), ("urgent", 3)]);
                let assignee = if status != "open" || rng.gen_bool(0.6) {
                    users[rng.gen_range(0..users.len())].to_string()
                } else {
                    "NULL".into()
                };
                let team = if rng.gen_bool(0.6) {
                    teams[rng.gen_range(0..teams.len())].to_string()
                } else {
                    "NULL".into()
                };
                let kind = rng.gen_bool(0.4).then(|| pick(&mut rng, &KINDS));
                let feature = match kind {
                    Some("missing_feature") => format!("'{}'", pick(&mut rng, &FEATURES)),
                    _ => "NULL".into(),
                };
                // The conversation: the customer's message, the first reply,
                // on some a second question and its answer (a next
                // response), then the resolution.
                let chat = channel == "chat";
                let finished = matches!(status, "resolved" | "closed");
                let mut first = (status != "open" || rng.gen_bool(0.4))
                    .then(|| created + reply_delay(&mut rng, &hours, created, chat));
                let mut again = None;
                let mut second = None;
                if let (Some(f), true) = (first, finished && rng.gen_bool(0.25)) {
                    let asked = f + (log_uniform(&mut rng, 5.0, 1800.0) * MINUTE as f64) as i64;
                    again = Some(asked);
                    second = Some(asked + reply_delay(&mut rng, &hours, asked, chat));
                }
                let mut resolved = finished.then(|| second.or(first).unwrap_or(created) + resolve_delay(&mut rng));
                // What would happen after now has not happened yet.
                if first.is_some_and(|t| t > now) {
                    (first, again, second, resolved) = (None, None, None, None);
                    status = "open";
                } else if again.is_some_and(|t| t > now) {
                    (again, second, resolved) = (None, None, None);
                    status = "pending";
                } else if second.is_some_and(|t| t > now) {
                    (second, resolved) = (None, None);
                    status = "open";
                } else if resolved.is_some_and(|t| t > now) {
                    resolved = None;
                    status = "pending";
                }
                let last = [Some(created), first, again, second]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(created);
                let updated = resolved.unwrap_or(last).max(last);
                let waiting = match (first, again, second) {
                    (None, _, _) => created.to_string(),
                    (Some(_), Some(a), None) => a.to_string(),
                    _ => "NULL".into(),
                };
                let sql_opt = |v: Option<i64>| v.map_or_else(|| "NULL".to_string(), |v| v.to_string());
                let (first_response, resolved_sql) = (sql_opt(first), sql_opt(resolved));
                let kind_sql = kind.map_or_else(|| "NULL".to_string(), |k| format!("'{k}'"));
                let subject = format!("{} #{}", SUBJECTS[rng.gen_range(0..SUBJECTS.len())], 100_000 + i);
                contacts.push(format!(
                    "({cid}, {}, 'Customer {i}', 'customer{i}@example.com', '{{}}', {created}, {created})",
                    ws.id
                ));
                rows.push(format!(
                    "({tid}, {}, {number}, '{subject}', '{status}', '{priority}', '{channel}', {cid}, {assignee}, {team}, {created}, {updated}, {last}, {first_response}, {resolved_sql}, 'seed{tid}', {waiting}, {kind_sql}, {feature})",
                    ws.id
                ));
                mid += 1;
                msgs.push(format!(
                    "({mid}, {}, {tid}, 'reply', 'contact', NULL, '{}', {created})",
                    ws.id,
                    BODIES[rng.gen_range(0..BODIES.len())]
                ));
                let by = if assignee == "NULL" {
                    users[0].to_string()
                } else {
                    assignee.clone()
                };
                for (at, who, body) in [
                    (first, "agent", REPLY),
                    (again, "contact", AGAIN),
                    (second, "agent", REPLY_AGAIN),
                ] {
                    let Some(at) = at else { continue };
                    mid += 1;
                    let author = if who == "agent" { by.as_str() } else { "NULL" };
                    msgs.push(format!(
                        "({mid}, {}, {tid}, 'reply', '{who}', {author}, '{body}', {at})",
                        ws.id
                    ));
                }
                if rng.gen_ratio(1, 10) {
                    labels.push(format!(
                        "({}, {tid}, '{}')",
                        ws.id,
                        ["vip", "refund", "damaged", "wholesale"][rng.gen_range(0..4)]
                    ));
                }
                // Surveys: CSAT asked on resolution, answered by ~30%; an
                // NPS survey a day later on a few.
                let Some(resolved) = resolved else { continue };
                if rng.gen_bool(0.3) {
                    let answered = resolved + (log_uniform(&mut rng, 2.0, 2880.0) * MINUTE as f64) as i64;
                    let score = pick(&mut rng, &CSAT);
                    let (score, answered, via) = if answered <= now {
                        (score, answered.to_string(), "'mail'")
                    } else {
                        ("NULL", "NULL".into(), "NULL")
                    };
                    csat.push(format!(
                        "({tid}, {}, {cid}, {by}, {resolved}, 'mail', {score}, {answered}, {via})",
                        ws.id
                    ));
                }
                if rng.gen_bool(0.04) {
                    let due = resolved + DAY;
                    let answered = due + (log_uniform(&mut rng, 10.0, 4320.0) * MINUTE as f64) as i64;
                    let score = pick(&mut rng, &NPS);
                    let token = format!("{:032x}", rng.gen::<u128>());
                    let (sent, score, answered) = match (due <= now, answered <= now && rng.gen_bool(0.4)) {
                        (false, _) => ("NULL".to_string(), "NULL", "NULL".to_string()),
                        (true, false) => (due.to_string(), "NULL", "NULL".to_string()),
                        (true, true) => (due.to_string(), score, answered.to_string()),
                    };
                    nps.push(format!(
                        "({}, {cid}, {tid}, '{token}', {resolved}, {due}, {sent}, {score}, {answered})",
                        ws.id
                    ));
                }
            }
            for chunk in contacts.chunks(1000) {
                sqlx::query(&format!("INSERT INTO contacts (id, workspace_id, name, email, attributes, created_at, updated_at) VALUES {}", chunk.join(","))).execute(&mut *tx).await?;
            }
            for chunk in rows.chunks(1000) {
                sqlx::query(&format!(
                    "INSERT INTO tickets (id, workspace_id, number, subject, status, priority, channel, contact_id, assignee_id, team_id, created_at, updated_at, last_message_at, first_response_at, resolved_at, reply_token, waiting_since, kind, feature) VALUES {}",
                    chunk.join(",")
                ))
                .execute(&mut *tx)
                .await?;
            }
            for chunk in msgs.chunks(1000) {
                sqlx::query(&format!("INSERT INTO messages (id, workspace_id, ticket_id, kind, author_type, author_id, body, created_at) VALUES {}", chunk.join(","))).execute(&mut *tx).await?;
            }
            for chunk in csat.chunks(1000) {
                sqlx::query(&format!(
                    "INSERT INTO csat_responses (ticket_id, workspace_id, contact_id, agent_id, asked_at, asked_via, score, answered_at, answered_via) VALUES {}",
                    chunk.join(",")
                ))
                .execute(&mut *tx)
                .await?;
            }
            for chunk in nps.chunks(1000) {
                sqlx::query(&format!(
                    "INSERT INTO nps_surveys (workspace_id, contact_id, ticket_id, token, created_at, due_at, sent_at, score, answered_at) VALUES {}",
                    chunk.join(",")
                ))
                .execute(&mut *tx)
                .await?;
            }
            for chunk in labels.chunks(1000) {
                sqlx::query(&format!(
                    "INSERT INTO ticket_labels (workspace_id, ticket_id, label) VALUES {}",
                    chunk.join(",")
                ))
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE workspaces SET next_ticket_number = $1 WHERE id = $2")
                .bind(number0 + batch as i64)
                .bind(ws.id)
                .execute(&mut *tx)
                .await?;
            // A bulk load is recorded as one event rather than one per row:
            // consumers that derive state from the rows (the search index)
            // start over from the tables when they see it.
            let ev = NewEvent::new(ws.id, EventType::TicketsImported, EventActor::System)
                .changes(serde_json::json!({ "tickets": batch, "first_number": number0 }));
            self.commit_with(tx, vec![ev]).await?;
            done += batch;
        }
        if self.backend == Backend::Postgres {
            for table in ["contacts", "tickets", "messages"] {
                sqlx::query(&format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")).execute(&self.write).await?;
            }
            // A fresh bulk load has no visibility map yet: every index-only
            // scan would visit the heap until autovacuum comes by.
            sqlx::query("VACUUM (ANALYZE) tickets, contacts, messages, ticket_labels, csat_responses, nps_surveys")
                .execute(&self.write)
                .await?;
        } else {
            sqlx::query("ANALYZE").execute(&self.write).await?;
        }
        Ok(Seeded {
            workspace_id: ws.id,
            slug: ws.slug,
            created: n,
            total: want,
        })
    }
}
