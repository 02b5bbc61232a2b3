//! Keeps this node's ticket search index in step with the database.
//!
//! One task per node reads messages in id order from the watermark kept in
//! the index's own commit payload: a node with no index (or a new data dir)
//! builds it from the first message, a restarted one continues where it
//! stopped, and an index whose watermark this database does not know
//! (another database, a restored backup) is rebuilt. Events on the bus, this
//! node's and other nodes' through PostgreSQL, only wake the task: what it
//! indexes always comes from the database, so a lost event delays a change
//! at worst until the next periodic look, and never loses it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::realtime::{Event, Kind};
use crate::search::{Gap, MessageDoc, TicketDoc, TicketIndex, Watermark, WeakTicketIndex};
use crate::store::search::IndexMessage;
use crate::store::{now_ms, Store, StoreError};

const PAGE: i64 = 2_000;
/// Catch-ups (and so commits) happen at most this often while changes keep
/// coming: searches lag by about this much, and a burst costs one commit.
const COMMIT_INTERVAL: Duration = Duration::from_millis(200);
/// While building from far behind, commit this often, so a restart keeps
/// the work done and searches see it grow.
const BULK_COMMIT_INTERVAL: Duration = Duration::from_secs(2);
/// Without any event, look anyway this often: events can be lost (a full
/// NOTIFY queue, a LISTEN connection being re-established).
const IDLE_CHECK: Duration = Duration::from_secs(30);
/// Contacts change without an event (a visitor gives their name in the
/// chat), so changed ones are looked for this often.
const CONTACT_CHECK: Duration = Duration::from_secs(60);
/// Nodes' clocks differ, and `updated_at` comes from the writing node's.
const CLOCK_MARGIN_MS: i64 = 5 * 60_000;
/// An id missing this long belonged to a transaction that rolled back.
const GAP_TTL_MS: i64 = 10 * 60_000;
/// A hole wider than this is a sequence that jumped (a PostgreSQL crash
/// skips cached values), not commits in flight; it is not waited for.
const MAX_GAP_RUN: i64 = 1_000;
const MAX_GAPS: usize = 10_000;
const TICKET_CHUNK: usize = 500;

/// Called by the event dispatcher for every event on this node.
pub fn note(index: &TicketIndex, ev: &Event) {
    match ev.kind {
        Kind::TicketCreated { ticket_id } | Kind::TicketUpdated { ticket_id } => index.note_ticket(ticket_id),
        Kind::MessageCreated { .. } => index.note_change(),
        _ => {}
    }
}

/// Starts the task that fills `index` and keeps it current. It holds the
/// index only weakly and ends once the app state that owns it is dropped.
pub fn start(store: Store, index: &TicketIndex) {
    tokio::spawn(run(store, index.downgrade()));
}

async fn run(store: Store, weak: WeakTicketIndex) {
    let mut mark: Option<Watermark> = None;
    let mut next_contact_check = Instant::now();
    loop {
        let Some(index) = weak.upgrade() else { return };
        let started = Instant::now();
        let check_contacts = started >= next_contact_check;
        let result = async {
            let m = match &mut mark {
                Some(m) => m,
                None => mark.insert(resume(&store, &index).await?),
            };
            catch_up(&store, &index, m, check_contacts).await
        }
        .await;
        match result {
            Ok(()) if check_contacts => next_contact_check = Instant::now() + CONTACT_CHECK,
            Ok(()) => {}
            Err(e) => {
                if e.downcast_ref::<StoreError>().is_some_and(|e| matches!(e, StoreError::Database(sqlx::Error::PoolClosed))) {
                    return;
                }
                tracing::warn!(error = %e, "ticket search index: catching up failed; retrying");
                // Start again from what was committed.
                let _ = index.rollback();
                mark = None;
                drop(index);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        }
        drop(index);
        // Wait for a change, holding the index a second at a time so the
        // task notices soon when the node's state is gone.
        let deadline = Instant::now() + IDLE_CHECK.min(next_contact_check.saturating_duration_since(Instant::now()));
        loop {
            let Some(index) = weak.upgrade() else { return };
            let slice = deadline.saturating_duration_since(Instant::now()).min(Duration::from_secs(1));
            if tokio::time::timeout(slice, index.changed()).await.is_ok() || Instant::now() >= deadline {
                break;
            }
        }
        tokio::time::sleep(COMMIT_INTERVAL.saturating_sub(started.elapsed())).await;
    }
}

/// The watermark to continue from: the stored one when this database has
/// the message it names, else none, after emptying the index.
async fn resume(store: &Store, index: &TicketIndex) -> anyhow::Result<Watermark> {
    let stored = index.watermark()?;
    let valid = match &stored {
        Some(w) if w.message_id > 0 => store.message_created_at(w.message_id).await? == Some(w.message_created_at),
        Some(_) => true,
        None => index.doc_count() == 0,
    };
    if valid {
        let w = stored.unwrap_or_default();
        if index.on_disk() {
            tracing::info!(documents = index.doc_count(), after_message = w.message_id, "ticket search index opened");
        }
        return Ok(w);
    }
    tracing::warn!("the ticket search index was built from another database (or before a restore); rebuilding it");
    let index = index.clone();
    tokio::task::spawn_blocking(move || {
        index.clear()?;
        index.commit(&Watermark::default())
    })
    .await??;
    Ok(Watermark::default())
}

/// Reads everything after `mark` (and the gaps before it), refreshes the
/// documents of the tickets it touched or that were noted, and commits.
async fn catch_up(store: &Store, index: &TicketIndex, mark: &mut Watermark, check_contacts: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let from = mark.message_id;
    let now = now_ms();
    let mut tickets: HashSet<i64> = index.take_noted_tickets();
    let mut changed = !tickets.is_empty();

    if !mark.gaps.is_empty() {
        let ids: Vec<i64> = mark.gaps.iter().map(|g| g.id).collect();
        let mut late = Vec::new();
        for chunk in ids.chunks(TICKET_CHUNK) {
            late.extend(store.messages_for_index_by_id(chunk).await?);
        }
        let found: HashSet<i64> = late.iter().map(|m| m.id).collect();
        let before = mark.gaps.len();
        mark.gaps.retain(|g| !found.contains(&g.id) && now - g.since < GAP_TTL_MS);
        changed |= mark.gaps.len() != before;
        add(index, late, true, &mut tickets).await?;
    }

    let mut last_commit = Instant::now();
    loop {
        let page = store.messages_for_index(mark.message_id, PAGE).await?;
        let Some(last) = page.last() else { break };
        let full = page.len() as i64 == PAGE;
        for m in &page {
            let hole = m.id - mark.message_id - 1;
            if hole > 0 && hole <= MAX_GAP_RUN {
                mark.gaps.extend((mark.message_id + 1..m.id).map(|id| Gap { id, since: now }));
            }
            mark.message_id = m.id;
        }
        mark.message_created_at = last.created_at;
        if mark.gaps.len() > MAX_GAPS {
            let excess = mark.gaps.len() - MAX_GAPS;
            mark.gaps.drain(..excess);
        }
        add(index, page, false, &mut tickets).await?;
        changed = true;
        if !full {
            break;
        }
        if last_commit.elapsed() >= BULK_COMMIT_INTERVAL {
            refresh(store, index, &mut tickets).await?;
            commit(index, mark).await?;
            last_commit = Instant::now();
            tracing::info!(after_message = mark.message_id, "ticket search index: catching up");
        }
    }

    if check_contacts {
        let scanned_at = now_ms();
        // A new index reads every ticket with its messages anyway.
        if mark.contacts_at > 0 {
            let found = store.tickets_of_contacts_changed_since(mark.contacts_at - CLOCK_MARGIN_MS).await?;
            changed |= !found.is_empty();
            tickets.extend(found);
        }
        mark.contacts_at = scanned_at;
    }
    refresh(store, index, &mut tickets).await?;
    if changed {
        commit(index, mark).await?;
    }
    if mark.message_id - from > PAGE {
        tracing::info!(messages = mark.message_id - from, seconds = started.elapsed().as_secs_f64(), documents = index.doc_count(), "ticket search index caught up");
    }
    Ok(())
}

/// Stages `messages` (events only touch their ticket) and notes their tickets.
async fn add(index: &TicketIndex, messages: Vec<IndexMessage>, replace: bool, tickets: &mut HashSet<i64>) -> anyhow::Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    tickets.extend(messages.iter().map(|m| m.ticket_id));
    let docs: Vec<MessageDoc> = messages
        .into_iter()
        .filter(|m| m.kind != "event")
        .map(|m| MessageDoc { workspace_id: m.workspace_id, ticket_id: m.ticket_id, message_id: m.id, body: m.body })
        .collect();
    let index = index.clone();
    tokio::task::spawn_blocking(move || index.add_messages(docs, replace)).await?
}

/// Stages fresh documents of `tickets` and empties the set.
async fn refresh(store: &Store, index: &TicketIndex, tickets: &mut HashSet<i64>) -> anyhow::Result<()> {
    let ids: Vec<i64> = tickets.drain().collect();
    for chunk in ids.chunks(TICKET_CHUNK) {
        let docs: Vec<TicketDoc> = store
            .tickets_for_index(chunk)
            .await?
            .into_iter()
            .map(|t| TicketDoc { workspace_id: t.workspace_id, ticket_id: t.id, subject: t.subject, contact_name: t.contact_name, contact_email: t.contact_email })
            .collect();
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.upsert_tickets(docs)).await??;
    }
    Ok(())
}

async fn commit(index: &TicketIndex, mark: &Watermark) -> anyhow::Result<()> {
    let (index, mark) = (index.clone(), mark.clone());
    tokio::task::spawn_blocking(move || index.commit(&mark)).await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Channel, Email, Priority, Role};
    use crate::store::{Author, NewContact, NewTicket, NewUser, TicketContact};

    async fn new_store(dir: &std::path::Path, name: &str) -> (Store, i64) {
        let store = Store::connect(&format!("sqlite://{}", dir.join(name).display())).await.unwrap();
        let admin = NewUser { email: Email::parse("email", "owner@shop.test").unwrap(), name: "Owner".into(), role: Role::Admin, teams_only: false, password_hash: None };
        let (ws, _) = store.create_workspace("Shop", "shop", admin).await.unwrap();
        (store, ws.id)
    }

    async fn ticket(store: &Store, ws: i64, subject: &str, body: &str) -> i64 {
        let new = NewTicket {
            subject: subject.into(),
            body: body.into(),
            contact: TicketContact::Email(NewContact { email: Email::parse("email", "ann@shop.test").unwrap(), name: Some("Ann".into()) }),
            channel: Channel::Api,
            priority: Priority::Normal,
            labels: vec![],
            author: Author::Contact,
            external_id: None,
            message_external_id: None,
            team_id: None,
        };
        store.create_ticket(ws, new).await.unwrap().0.id
    }

    async fn catch_up_once(store: &Store, index: &TicketIndex) -> Watermark {
        let mut mark = resume(store, index).await.unwrap();
        catch_up(store, index, &mut mark, true).await.unwrap();
        mark
    }

    /// A restarted node continues from its watermark; an index from another
    /// database is rebuilt rather than trusted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn search_tickets_index_resumes_and_rebuilds_when_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let index_dir = tmp.path().join("index");
        let (store, ws) = new_store(tmp.path(), "a.db").await;
        let gift = ticket(&store, ws, "Gift card", "My gift card code does not work").await;
        {
            let index = TicketIndex::open(Some(&index_dir)).unwrap();
            let mark = catch_up_once(&store, &index).await;
            assert!(mark.message_id > 0);
            assert_eq!(index.search(ws, "gift cards", 10).unwrap(), [gift]);
        }
        let refund = ticket(&store, ws, "Refund", "Where is my refund?").await;
        {
            let index = TicketIndex::open(Some(&index_dir)).unwrap();
            let before = index.watermark().unwrap().unwrap();
            assert_eq!(resume(&store, &index).await.unwrap(), before, "continues from the stored watermark");
            catch_up_once(&store, &index).await;
            assert_eq!(index.search(ws, "refunds", 10).unwrap(), [refund]);
            assert_eq!(index.search(ws, "gift", 10).unwrap(), [gift]);
        }
        // Another database under the same data dir.
        let (other, other_ws) = new_store(tmp.path(), "b.db").await;
        let parcel = ticket(&other, other_ws, "Parcel", "The parcel never came").await;
        let index = TicketIndex::open(Some(&index_dir)).unwrap();
        catch_up_once(&other, &index).await;
        assert_eq!(index.search(other_ws, "parcel", 10).unwrap(), [parcel]);
        assert!(index.search(other_ws, "gift", 10).unwrap().is_empty(), "the old database's tickets are gone");
    }
}
