//! Keeps this node's ticket search index in step with the database: a
//! consumer of the event log whose position is kept in the index's own
//! commit payload, so the documents and the position that describes them
//! are made durable together.
//!
//! A node with no index (or a new data dir) first builds it from the
//! messages and tickets tables, having noted the log's head before it
//! started; then it applies the events after that head (a message that the
//! build read as well is replaced, not doubled). A restarted node continues
//! from its position; an index whose position this database does not know
//! (another database, a restored backup) or that the log was pruned past is
//! rebuilt. Commits happen at most five times a second while changes keep
//! coming, so a burst costs one commit and a search lags by about that.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::domain::event::{Event, EventType};
use crate::events::{record_position, wait_past, LogHead};
use crate::search::{MessageDoc, TicketDoc, TicketIndex, Watermark, WeakTicketIndex};
use crate::store::search::IndexMessage;
use crate::store::{Store, StoreError};

pub const NAME: &str = "search";
const PAGE: i64 = 2_000;
/// Catch-ups (and so commits) happen at most this often while changes keep
/// coming: searches lag by about this much, and a burst costs one commit.
const COMMIT_INTERVAL: Duration = Duration::from_millis(200);
/// While building, commit this often, so a restart keeps the work done and
/// searches see the index grow.
const BULK_COMMIT_INTERVAL: Duration = Duration::from_secs(2);
const TICKET_CHUNK: usize = 500;

/// Starts the task that fills `index` and keeps it current. It holds the
/// index only weakly and ends once the app state that owns it is dropped
/// or `stop` is set.
pub fn start(store: Store, head: LogHead, index: &TicketIndex, stop: watch::Receiver<bool>) {
    tokio::spawn(run(store, head, index.downgrade(), stop));
}

async fn run(store: Store, head: LogHead, weak: WeakTicketIndex, mut stop: watch::Receiver<bool>) {
    let mut rx = head.subscribe();
    let mut mark: Option<Watermark> = None;
    loop {
        let Some(index) = weak.upgrade() else { return };
        let started = Instant::now();
        let result = async {
            let m = match &mut mark {
                Some(m) => m,
                None => mark.insert(resume(&store, &index).await?),
            };
            if m.building_after.is_some() {
                build(&store, &index, m).await?;
            }
            catch_up(&store, &head, &index, m).await
        }
        .await;
        if let Err(e) = result {
            if e.downcast_ref::<StoreError>()
                .is_some_and(|e| matches!(e, StoreError::Database(sqlx::Error::PoolClosed)))
            {
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
        drop(index);
        let position = mark.as_ref().map_or(0, |m| m.event_id);
        record_position(NAME, position);
        // Wait for the log to move, a second at a time so the task notices
        // soon when the node's state is gone.
        if !wait_past(&store, &head, &mut rx, position, &mut stop).await || weak.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(COMMIT_INTERVAL.saturating_sub(started.elapsed())).await;
    }
}

/// The position to continue from: the stored one when this database holds
/// the event it names and nothing after it was pruned; else a new build.
async fn resume(store: &Store, index: &TicketIndex) -> anyhow::Result<Watermark> {
    let stored = index.watermark()?;
    let tail = store.event_tail().await?;
    let valid = match &stored {
        Some(w) if w.event_id > 0 => {
            store.event_created_at(w.event_id).await? == Some(w.event_created_at)
                && tail.is_none_or(|t| t <= w.event_id + 1)
        }
        // Built before any event was written: valid while the log still
        // starts at its beginning.
        Some(_) => tail.is_none_or(|t| t <= 1),
        None => false,
    };
    if valid {
        let w = stored.unwrap_or_default();
        if index.on_disk() {
            tracing::info!(
                documents = index.doc_count(),
                after_event = w.event_id,
                "ticket search index opened"
            );
        }
        return Ok(w);
    }
    if index.doc_count() > 0 {
        tracing::warn!("the ticket search index was built from another database (or before a restore, or the log moved past it); rebuilding it");
    }
    start_build(store, index).await
}

/// Empties the index and notes the log's head first: whatever commits after
/// it is applied from the log once the build (`building_after`) is done.
async fn start_build(store: &Store, index: &TicketIndex) -> anyhow::Result<Watermark> {
    let event_id = store.event_head().await?;
    let event_created_at = if event_id > 0 {
        store.event_created_at(event_id).await?.unwrap_or_default()
    } else {
        0
    };
    let mark = Watermark {
        event_id,
        event_created_at,
        building_after: Some(0),
    };
    let (index, m) = (index.clone(), mark.clone());
    tokio::task::spawn_blocking(move || {
        index.clear()?;
        index.commit(&m)
    })
    .await??;
    Ok(mark)
}

/// Reads every message (and its ticket) into a new index.
async fn build(store: &Store, index: &TicketIndex, mark: &mut Watermark) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last_commit = Instant::now();
    let mut tickets = HashSet::new();
    let mut count = 0;
    while let Some(after) = mark.building_after {
        let page = store.messages_for_index(after, PAGE).await?;
        count += page.len();
        mark.building_after = match page.last() {
            Some(m) if page.len() as i64 == PAGE => Some(m.id),
            _ => None,
        };
        add(index, page, false, &mut tickets).await?;
        if mark.building_after.is_none() || last_commit.elapsed() >= BULK_COMMIT_INTERVAL {
            refresh(store, index, &mut tickets).await?;
            commit(index, mark).await?;
            last_commit = Instant::now();
            tracing::info!(
                messages = count,
                documents = index.doc_count(),
                "ticket search index: building"
            );
        }
    }
    tracing::info!(
        messages = count,
        seconds = started.elapsed().as_secs_f64(),
        documents = index.doc_count(),
        "ticket search index built"
    );
    Ok(())
}

/// Applies the events after `mark` and commits.
async fn catch_up(store: &Store, head: &LogHead, index: &TicketIndex, mark: &mut Watermark) -> anyhow::Result<()> {
    let mut last_commit = Instant::now();
    let mut tickets = HashSet::new();
    let mut changed = false;
    loop {
        let page = head.read_after(store, mark.event_id, PAGE).await?;
        let Some(last) = page.last() else { break };
        if page[0].id > mark.event_id + 1 && store.event_tail().await?.is_some_and(|t| t > mark.event_id + 1) {
            // The events after our position were pruned: start over.
            anyhow::bail!("the event log was pruned past this index's position");
        }
        if page.iter().any(|e| e.kind == EventType::TicketsImported) {
            // A bulk load wrote rows without their events: read the tables again.
            tracing::info!("tickets were imported in bulk; rebuilding the ticket search index");
            tickets.clear();
            *mark = start_build(store, index).await?;
            build(store, index, mark).await?;
            continue;
        }
        let full = page.len() as i64 == PAGE;
        apply(store, index, &page, &mut tickets).await?;
        mark.event_id = last.id;
        mark.event_created_at = last.created_at;
        changed = true;
        if !full {
            break;
        }
        if last_commit.elapsed() >= BULK_COMMIT_INTERVAL {
            refresh(store, index, &mut tickets).await?;
            commit(index, mark).await?;
            last_commit = Instant::now();
        }
    }
    refresh(store, index, &mut tickets).await?;
    if changed {
        commit(index, mark).await?;
    }
    Ok(())
}

/// Stages what a page of events changed: new messages, and the tickets
/// whose subject or contact may have changed.
async fn apply(
    store: &Store,
    index: &TicketIndex,
    events: &[std::sync::Arc<Event>],
    tickets: &mut HashSet<i64>,
) -> anyhow::Result<()> {
    let mut messages = Vec::new();
    let mut contacts = Vec::new();
    for e in events {
        match e.kind {
            EventType::MessageCreated => messages.extend(e.message_id),
            EventType::TicketCreated | EventType::TicketUpdated => tickets.extend(e.ticket_id),
            EventType::ContactUpdated | EventType::ContactMerged => contacts.extend(e.contact_id),
            // Erased: the contact's tickets and rewritten messages are
            // indexed again, so their name and address are found no more.
            EventType::ContactErased => {
                contacts.extend(e.contact_id);
                if let Some(ids) = e.changes.get("message_ids").and_then(|m| m.as_array()) {
                    messages.extend(ids.iter().filter_map(|i| i.as_i64()));
                }
            }
            // Moved messages are indexed again under their new ticket.
            EventType::TicketMerged | EventType::TicketSplit => {
                tickets.extend(e.ticket_id);
                if let Some(ids) = e.changes.get("message_ids").and_then(|m| m.as_array()) {
                    messages.extend(ids.iter().filter_map(|i| i.as_i64()));
                }
            }
            _ => {}
        }
    }
    for chunk in messages.chunks(TICKET_CHUNK) {
        let found = store.messages_for_index_by_id(chunk).await?;
        add(index, found, true, tickets).await?;
    }
    if !contacts.is_empty() {
        tickets.extend(store.tickets_of_contacts(&contacts).await?);
    }
    Ok(())
}

/// Stages `messages` (system lines only touch their ticket) and notes their tickets.
async fn add(
    index: &TicketIndex,
    messages: Vec<IndexMessage>,
    replace: bool,
    tickets: &mut HashSet<i64>,
) -> anyhow::Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    tickets.extend(messages.iter().map(|m| m.ticket_id));
    let docs: Vec<MessageDoc> = messages
        .into_iter()
        .filter(|m| m.kind != "event")
        .map(|m| MessageDoc {
            workspace_id: m.workspace_id,
            ticket_id: m.ticket_id,
            message_id: m.id,
            body: m.body,
        })
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
            .map(|t| TicketDoc {
                workspace_id: t.workspace_id,
                ticket_id: t.id,
                subject: t.subject,
                contact_name: t.contact_name,
                contact_email: t.contact_email,
            })
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
        let store = Store::connect(&format!("sqlite://{}", dir.join(name).display()))
            .await
            .unwrap();
        let admin = NewUser {
            email: Email::parse("email", "owner@shop.test").unwrap(),
            name: "Owner".into(),
            role: Role::Admin,
            teams_only: false,
            password_hash: None,
        };
        let (ws, _) = store.create_workspace("Shop", "shop", admin).await.unwrap();
        (store, ws.id)
    }

    async fn ticket(store: &Store, ws: i64, subject: &str, body: &str) -> i64 {
        let new = NewTicket {
            subject: subject.into(),
            body: body.into(),
            contact: TicketContact::Email(NewContact {
                email: Email::parse("email", "ann@shop.test").unwrap(),
                name: Some("Ann".into()),
            }),
            channel: Channel::Api,
            priority: Priority::Normal,
            labels: vec![],
            author: Author::Contact,
            external_id: None,
            message_external_id: None,
            team_id: None,
            kind: None,
            feature: None,
        };
        store.create_ticket(ws, new).await.unwrap().0.ticket.id
    }

    async fn catch_up_once(store: &Store, index: &TicketIndex) -> Watermark {
        let mut mark = resume(store, index).await.unwrap();
        if mark.building_after.is_some() {
            build(store, index, &mut mark).await.unwrap();
        }
        catch_up(store, &LogHead::default(), index, &mut mark).await.unwrap();
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
            assert!(mark.event_id > 0);
            assert_eq!(index.search(ws, "gift cards", 10).unwrap(), [gift]);
        }
        let refund = ticket(&store, ws, "Refund", "Where is my refund?").await;
        {
            let index = TicketIndex::open(Some(&index_dir)).unwrap();
            let before = index.watermark().unwrap().unwrap();
            assert_eq!(
                resume(&store, &index).await.unwrap(),
                before,
                "continues from the stored watermark"
            );
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
        assert!(
            index.search(other_ws, "gift", 10).unwrap().is_empty(),
            "the old database's tickets are gone"
        );
    }

    /// A bulk load (the demo seed) writes rows without their events; its one
    /// `tickets.imported` event makes the index read the tables again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn search_tickets_index_reads_a_bulk_load() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, ws) = new_store(tmp.path(), "a.db").await;
        ticket(&store, ws, "Gift card", "My gift card code does not work").await;
        let index = TicketIndex::open(Some(&tmp.path().join("index"))).unwrap();
        let mut mark = catch_up_once(&store, &index).await;
        let before = index.doc_count();
        let seeded = store.seed(30, "not a real hash").await.unwrap();
        catch_up(&store, &LogHead::default(), &index, &mut mark).await.unwrap();
        assert!(
            index.doc_count() >= before + 60,
            "{} documents after seeding {} tickets",
            index.doc_count(),
            seeded.created
        );
        assert!(mark.building_after.is_none());
    }
}
