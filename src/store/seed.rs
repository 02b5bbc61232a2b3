//! `storedesk seed`: a demo workspace filled with a realistic mix of
//! tickets, for trying the console and measuring it at scale. Rows go in as
//! multi-row inserts of generated values (no user input), many thousands
//! per statement, so a million tickets take seconds, not hours.

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
        let mut rng = SmallRng::seed_from_u64(have as u64 + 1);
        let now = now_ms();
        let span = 730 * 24 * 3600 * 1000_i64;
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
            let (mut contacts, mut rows, mut msgs, mut labels) = (
                Vec::with_capacity(batch),
                Vec::with_capacity(batch),
                Vec::with_capacity(batch * 2),
                Vec::new(),
            );
            let mut mid = mid0;
            for k in 0..batch {
                let i = done + k;
                let (tid, cid, number) = (tid0 + 1 + k as i64, cid0 + 1 + k as i64, number0 + k as i64);
                // Older tickets first, so numbers grow with time like real ones.
                let created = now - span + span * (have + i as i64) / want.max(1) + rng.gen_range(0..60_000);
                let status = pick(
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
                let answered = status != "open" || rng.gen_bool(0.4);
                let replied = created + rng.gen_range(60_000..36 * 3600 * 1000);
                let last = if answered { replied } else { created };
                let first_response = if answered { replied.to_string() } else { "NULL".into() };
                let resolved = if matches!(status, "resolved" | "closed") {
                    (replied + 60_000).to_string()
                } else {
                    "NULL".into()
                };
                let waiting = if answered {
                    "NULL".to_string()
                } else {
                    created.to_string()
                };
                let subject = format!("{} #{}", SUBJECTS[rng.gen_range(0..SUBJECTS.len())], 100_000 + i);
                contacts.push(format!(
                    "({cid}, {}, 'Customer {i}', 'customer{i}@example.com', '{{}}', {created}, {created})",
                    ws.id
                ));
                rows.push(format!(
                    "({tid}, {}, {number}, '{subject}', '{status}', '{priority}', '{channel}', {cid}, {assignee}, {team}, {created}, {last}, {last}, {first_response}, {resolved}, 'seed{tid}', {waiting})",
                    ws.id
                ));
                mid += 1;
                msgs.push(format!(
                    "({mid}, {}, {tid}, 'reply', 'contact', NULL, '{}', {created})",
                    ws.id,
                    BODIES[rng.gen_range(0..BODIES.len())]
                ));
                if answered {
                    mid += 1;
                    let by = if assignee == "NULL" {
                        users[0].to_string()
                    } else {
                        assignee.clone()
                    };
                    msgs.push(format!(
                        "({mid}, {}, {tid}, 'reply', 'agent', {by}, '{REPLY}', {replied})",
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
            }
            for chunk in contacts.chunks(1000) {
                sqlx::query(&format!("INSERT INTO contacts (id, workspace_id, name, email, attributes, created_at, updated_at) VALUES {}", chunk.join(","))).execute(&mut *tx).await?;
            }
            for chunk in rows.chunks(1000) {
                sqlx::query(&format!(
                    "INSERT INTO tickets (id, workspace_id, number, subject, status, priority, channel, contact_id, assignee_id, team_id, created_at, updated_at, last_message_at, first_response_at, resolved_at, reply_token, waiting_since) VALUES {}",
                    chunk.join(",")
                ))
                .execute(&mut *tx)
                .await?;
            }
            for chunk in msgs.chunks(1000) {
                sqlx::query(&format!("INSERT INTO messages (id, workspace_id, ticket_id, kind, author_type, author_id, body, created_at) VALUES {}", chunk.join(","))).execute(&mut *tx).await?;
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
            sqlx::query("VACUUM (ANALYZE) tickets, contacts, messages, ticket_labels")
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
