//! Agent search over tickets and their conversations.
//!
//! One document per message (append-only: messages never change) and one per
//! ticket for what describes it (subject, contact name and e-mail), replaced
//! when the ticket changes. A search returns ticket ids, best first; the
//! caller filters them by access and everything else in SQL.
//!
//! Like the knowledge-base index this is a pure library: the caller reads the
//! database and feeds documents in. How far it got is kept in the commit
//! payload (`Watermark`) beside the documents it describes, so a node that
//! restarts continues from there, and a missing index starts from zero.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions};
use tantivy::{DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentReader, TantivyDocument, Term};

use super::analysis::{self, MIXED_TOKENIZER};
use super::index::term_query;

/// A word in the subject says more about a ticket than the same word
/// somewhere in its conversation; the contact's name or address nearly as much.
const SUBJECT_BOOST: f32 = 3.0;
const CONTACT_BOOST: f32 = 2.0;
/// Queries are cut to this many words: a pasted e-mail must not become a
/// thousand-clause query.
const MAX_TERMS: usize = 12;
/// Messages longer than this are indexed by their beginning only; the rest
/// of a 25 MB mail is rarely what anyone searches for.
pub const MAX_BODY_CHARS: usize = 100_000;
const WRITER_THREADS: usize = 2;
const WRITER_BUDGET: usize = 128 * 1024 * 1024;
const TICKET_ID: &str = "ticket_id";

/// One message of a conversation (events are not indexed).
#[derive(Debug, Clone)]
pub struct MessageDoc {
    pub workspace_id: i64,
    pub ticket_id: i64,
    pub message_id: i64,
    pub body: String,
}

/// What describes a ticket besides its conversation.
#[derive(Debug, Clone)]
pub struct TicketDoc {
    pub workspace_id: i64,
    pub ticket_id: i64,
    pub subject: String,
    pub contact_name: String,
    pub contact_email: Option<String>,
}

/// How far the index has read the event log; stored with each commit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watermark {
    /// The last event applied, and its `created_at`: together they tell
    /// whether the database is still the one this index was built from.
    pub event_id: i64,
    pub event_created_at: i64,
    /// While the index is first built from the messages table: the last
    /// message id read. The events after `event_id` are applied once the
    /// build is done.
    #[serde(default)]
    pub building_after: Option<i64>,
}

struct Fields {
    workspace: Field,
    ticket: Field,
    /// Only on ticket documents: the key they are replaced by.
    ticket_key: Field,
    /// Only on message documents.
    message: Field,
    body: Field,
    subject: Field,
    contact: Field,
}

fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexed = NumericOptions::default().set_indexed();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(MIXED_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let workspace = b.add_i64_field("workspace_id", indexed.clone());
    let ticket = b.add_i64_field(TICKET_ID, NumericOptions::default().set_fast());
    let ticket_key = b.add_i64_field("ticket_key", indexed.clone());
    let message = b.add_i64_field("message_id", indexed);
    let body = b.add_text_field("body", text.clone());
    let subject = b.add_text_field("subject", text.clone());
    let contact = b.add_text_field("contact", text);
    (
        b.build(),
        Fields {
            workspace,
            ticket,
            ticket_key,
            message,
            body,
            subject,
            contact,
        },
    )
}

/// This node's ticket search index. Cheap to clone; clones share one index.
#[derive(Clone)]
pub struct TicketIndex {
    inner: Arc<Inner>,
}

/// A handle that does not keep the index open (held by the task that fills
/// it and by the store, so dropping the node's state closes the index).
#[derive(Clone)]
pub struct WeakTicketIndex(Weak<Inner>);

impl WeakTicketIndex {
    pub fn upgrade(&self) -> Option<TicketIndex> {
        self.0.upgrade().map(|inner| TicketIndex { inner })
    }
}

struct Inner {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    on_disk: bool,
}

impl TicketIndex {
    /// `None`: in RAM. `Some(dir)`: on disk, created when missing; one with
    /// another schema (analysis changed) or that cannot be read is recreated
    /// empty and filled again by the caller. Fails when another process (or
    /// another node in this one) holds the directory.
    pub fn open(dir: Option<&Path>) -> anyhow::Result<TicketIndex> {
        let (schema, fields) = build_schema();
        let index = match dir {
            None => Index::create_in_ram(schema),
            Some(dir) => super::schema::open_dir(dir, schema)?,
        };
        index.tokenizers().register(MIXED_TOKENIZER, analysis::mixed_analyzer());
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index
            .writer_with_num_threads(WRITER_THREADS, WRITER_BUDGET)
            .context("opening the ticket search index writer (is another node using this data dir?)")?;
        Ok(TicketIndex {
            inner: Arc::new(Inner {
                index,
                reader,
                writer: Mutex::new(writer),
                fields,
                on_disk: dir.is_some(),
            }),
        })
    }

    pub fn downgrade(&self) -> WeakTicketIndex {
        WeakTicketIndex(Arc::downgrade(&self.inner))
    }

    pub fn on_disk(&self) -> bool {
        self.inner.on_disk
    }

    /// Documents (messages and tickets) visible to searches.
    pub fn doc_count(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    /// The watermark of the last commit; `None` for an index never committed
    /// by this code (new, or written by something else).
    pub fn watermark(&self) -> anyhow::Result<Option<Watermark>> {
        let metas = self.inner.index.load_metas()?;
        Ok(metas.payload.as_deref().and_then(|p| serde_json::from_str(p).ok()))
    }

    // Writes are staged: nothing is visible until `commit`, which stores the
    // watermark with them, so the payload never claims more than is there.

    /// Adds messages; with `replace`, first drops any earlier copy of each
    /// (for messages that may have been read before).
    pub fn add_messages(&self, docs: Vec<MessageDoc>, replace: bool) -> anyhow::Result<()> {
        let f = &self.inner.fields;
        let w = self.writer();
        for m in docs {
            if replace {
                w.delete_term(Term::from_field_i64(f.message, m.message_id));
            }
            let mut d = TantivyDocument::default();
            d.add_i64(f.workspace, m.workspace_id);
            d.add_i64(f.ticket, m.ticket_id);
            d.add_i64(f.message, m.message_id);
            d.add_text(f.body, clip(&m.body, MAX_BODY_CHARS));
            w.add_document(d)?;
        }
        Ok(())
    }

    /// Adds or replaces the documents of these tickets.
    pub fn upsert_tickets(&self, docs: Vec<TicketDoc>) -> anyhow::Result<()> {
        let f = &self.inner.fields;
        let w = self.writer();
        for t in docs {
            w.delete_term(Term::from_field_i64(f.ticket_key, t.ticket_id));
            let mut d = TantivyDocument::default();
            d.add_i64(f.workspace, t.workspace_id);
            d.add_i64(f.ticket, t.ticket_id);
            d.add_i64(f.ticket_key, t.ticket_id);
            d.add_text(f.subject, &t.subject);
            d.add_text(f.contact, &t.contact_name);
            if let Some(e) = &t.contact_email {
                d.add_text(f.contact, e);
            }
            w.add_document(d)?;
        }
        Ok(())
    }

    /// Forgets the writes staged since the last commit.
    pub fn rollback(&self) -> anyhow::Result<()> {
        self.writer().rollback()?;
        Ok(())
    }

    /// Drops every document (a rebuild follows).
    pub fn clear(&self) -> anyhow::Result<()> {
        self.writer().delete_all_documents()?;
        Ok(())
    }

    /// Makes the staged writes visible and durable, with `mark` describing them.
    pub fn commit(&self, mark: &Watermark) -> anyhow::Result<()> {
        let mut w = self.writer();
        let mut prepared = w.prepare_commit()?;
        prepared.set_payload(&serde_json::to_string(mark)?);
        prepared.commit()?;
        drop(w);
        self.inner.reader.reload()?;
        Ok(())
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.inner.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ids of `workspace_id`'s tickets matching every word of `query`, best
    /// first, at most `limit`. A word matches a ticket when it is in its
    /// subject, its contact's name or e-mail, or any of its messages; words
    /// are compared stemmed and folded, so other forms of a word match too.
    /// Empty when nothing searchable is left (only stop words, punctuation).
    pub fn search(&self, workspace_id: i64, query: &str, limit: usize) -> anyhow::Result<Vec<i64>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let f = &self.inner.fields;
        let searcher = self.inner.reader.searcher();
        let words = self.query_words(query)?;
        if words.is_empty() {
            return Ok(Vec::new());
        }
        // The rarest word first: the tickets it finds bound the rest, and a
        // word nobody used ends the search before any posting list is read.
        let mut ordered = Vec::with_capacity(words.len());
        for forms in words {
            let mut freq = 0;
            for form in &forms {
                for field in [f.body, f.subject, f.contact] {
                    freq += searcher.doc_freq(&Term::from_field_text(field, form))?;
                }
            }
            if freq == 0 {
                return Ok(Vec::new());
            }
            ordered.push((freq, forms));
        }
        ordered.sort();
        let workspace: Box<dyn Query> = Box::new(ConstScoreQuery::new(
            Box::new(TermQuery::new(
                Term::from_field_i64(f.workspace, workspace_id),
                IndexRecordOption::Basic,
            )),
            0.0,
        ));
        let mut found: Option<Arc<HashMap<i64, f32>>> = None;
        for (_, forms) in ordered {
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for form in &forms {
                for (field, boost) in [(f.body, 1.0), (f.subject, SUBJECT_BOOST), (f.contact, CONTACT_BOOST)] {
                    any.push((Occur::Should, term_query(field, form, boost)));
                }
            }
            let q = BooleanQuery::new(vec![
                (Occur::Must, workspace.box_clone()),
                (Occur::Must, Box::new(BooleanQuery::new(any))),
            ]);
            let scores = searcher.search(&q, &TicketScores { within: found.clone() })?;
            // A ticket's score is the sum over words of its best document for each.
            let next: HashMap<i64, f32> = match &found {
                None => scores,
                Some(prev) => scores
                    .into_iter()
                    .filter_map(|(id, s)| prev.get(&id).map(|p| (id, p + s)))
                    .collect(),
            };
            if next.is_empty() {
                return Ok(Vec::new());
            }
            found = Some(Arc::new(next));
        }
        let mut ranked: Vec<(i64, f32)> = found
            .map(|m| m.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        ranked.truncate(limit);
        Ok(ranked.into_iter().map(|(id, _)| id).collect())
    }

    /// The query's words, analysed as documents are; each word is a list of
    /// forms any of which may match (a Persian compound also stands for its
    /// parts, so پیش‌خرید finds پیش خرید).
    fn query_words(&self, query: &str) -> anyhow::Result<Vec<Vec<String>>> {
        let mut analyzer = self
            .inner
            .index
            .tokenizers()
            .get(MIXED_TOKENIZER)
            .context("tokenizer")?;
        let mut by_position: Vec<(usize, Vec<String>)> = Vec::new();
        for t in analysis::analyze(&mut analyzer, cap_words(query, MAX_TERMS * 2)) {
            match by_position.iter_mut().find(|(p, _)| *p == t.position) {
                Some((_, forms)) => {
                    if !forms.contains(&t.text) {
                        forms.push(t.text)
                    }
                }
                None => by_position.push((t.position, vec![t.text])),
            }
        }
        let mut seen = HashSet::new();
        Ok(by_position
            .into_iter()
            .map(|(_, forms)| forms)
            .filter(|forms| seen.insert(forms.clone()))
            .take(MAX_TERMS)
            .collect())
    }
}

/// The first `max` words of `text` (stop words are dropped only later, so
/// callers allow some slack).
fn cap_words(text: &str, max: usize) -> &str {
    let mut words = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        let word_char = c.is_alphanumeric();
        if word_char && !in_word {
            words += 1;
            if words > max {
                return &text[..i];
            }
        }
        in_word = word_char;
    }
    text
}

fn clip(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// Collects, per ticket, the best score of its matching documents; with
/// `within`, only tickets already found for the other words.
struct TicketScores {
    within: Option<Arc<HashMap<i64, f32>>>,
}

struct SegmentTicketScores {
    tickets: Column<i64>,
    within: Option<Arc<HashMap<i64, f32>>>,
    best: HashMap<i64, f32>,
}

impl Collector for TicketScores {
    type Fruit = HashMap<i64, f32>;
    type Child = SegmentTicketScores;

    fn for_segment(&self, _segment: u32, reader: &SegmentReader) -> tantivy::Result<SegmentTicketScores> {
        Ok(SegmentTicketScores {
            tickets: reader.fast_fields().i64(TICKET_ID)?,
            within: self.within.clone(),
            best: HashMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<HashMap<i64, f32>>) -> tantivy::Result<HashMap<i64, f32>> {
        let mut out = HashMap::new();
        for fruit in fruits {
            for (id, score) in fruit {
                keep_best(&mut out, id, score);
            }
        }
        Ok(out)
    }
}

impl SegmentCollector for SegmentTicketScores {
    type Fruit = HashMap<i64, f32>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let Some(id) = self.tickets.first(doc) else { return };
        if self.within.as_ref().is_some_and(|w| !w.contains_key(&id)) {
            return;
        }
        keep_best(&mut self.best, id, score);
    }

    fn harvest(self) -> HashMap<i64, f32> {
        self.best
    }
}

fn keep_best(map: &mut HashMap<i64, f32>, id: i64, score: f32) {
    let e = map.entry(id).or_insert(score);
    if score > *e {
        *e = score;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ws: i64, ticket: i64, id: i64, body: &str) -> MessageDoc {
        MessageDoc {
            workspace_id: ws,
            ticket_id: ticket,
            message_id: id,
            body: body.into(),
        }
    }

    fn ticket(ws: i64, id: i64, subject: &str, name: &str, email: &str) -> TicketDoc {
        TicketDoc {
            workspace_id: ws,
            ticket_id: id,
            subject: subject.into(),
            contact_name: name.into(),
            contact_email: Some(email.into()),
        }
    }

    fn index() -> TicketIndex {
        let ix = TicketIndex::open(None).unwrap();
        ix.upsert_tickets(vec![
            ticket(1, 10, "Paid but no order", "Ann Lee", "ann@shop.test"),
            ticket(1, 11, "Parcel stuck in customs", "Bob", "bob@mail.test"),
            ticket(1, 12, "Возврат денег", "Ольга", "olga@shop.test"),
            ticket(2, 20, "Paid but no order", "Eve", "eve@evil.test"),
        ])
        .unwrap();
        ix.add_messages(
            vec![
                msg(1, 10, 1, "The power went out right after I paid. I want a refund."),
                msg(1, 11, 2, "My parcel #1042 is late."),
                msg(1, 11, 3, "Any news about the delivery?"),
                msg(1, 12, 4, "Хочу вернуть деньги за заказы"),
                msg(2, 20, 5, "refund please"),
            ],
            false,
        )
        .unwrap();
        ix.commit(&Watermark {
            event_id: 5,
            event_created_at: 1,
            ..Default::default()
        })
        .unwrap();
        ix
    }

    #[test]
    fn search_tickets_words_forms_and_fields() {
        let ix = index();
        assert_eq!(
            ix.search(1, "refunds", 10).unwrap(),
            [10],
            "another form of a word in a message"
        );
        assert_eq!(
            ix.search(1, "ann@shop.test", 10).unwrap(),
            [10],
            "the contact's address"
        );
        assert_eq!(ix.search(1, "parcel", 10).unwrap(), [11], "subject and message");
        assert_eq!(ix.search(1, "1042", 10).unwrap(), [11], "a number in a message");
        assert_eq!(ix.search(1, "заказ", 10).unwrap(), [12]);
        assert_eq!(
            ix.search(1, "ольга возврат", 10).unwrap(),
            [12],
            "words from different documents of one ticket"
        );
        assert_eq!(
            ix.search(1, "parcel refund", 10).unwrap(),
            Vec::<i64>::new(),
            "every word must match"
        );
        assert_eq!(
            ix.search(1, "the", 10).unwrap(),
            Vec::<i64>::new(),
            "stop words alone find nothing"
        );
        assert_eq!(ix.search(1, "paid", 10).unwrap(), [10], "never another workspace's");
        assert_eq!(ix.search(2, "paid", 10).unwrap(), [20]);
        assert_eq!(ix.watermark().unwrap().unwrap().event_id, 5);
    }

    #[test]
    fn search_tickets_subject_outranks_body_and_changes_replace() {
        let ix = index();
        ix.add_messages(vec![msg(1, 12, 6, "Is my parcel coming too?")], false)
            .unwrap();
        ix.commit(&Watermark::default()).unwrap();
        assert_eq!(ix.search(1, "parcel", 10).unwrap(), [11, 12], "the subject match first");
        ix.upsert_tickets(vec![ticket(1, 11, "Late delivery", "Bob", "bob@mail.test")])
            .unwrap();
        ix.commit(&Watermark::default()).unwrap();
        assert_eq!(
            ix.search(1, "customs", 10).unwrap(),
            Vec::<i64>::new(),
            "the old subject is gone"
        );
        assert_eq!(ix.search(1, "late delivery", 10).unwrap(), [11]);
        // Re-reading a message keeps one copy.
        ix.add_messages(vec![msg(1, 12, 6, "Is my parcel coming too?")], true)
            .unwrap();
        let before = ix.doc_count();
        ix.commit(&Watermark::default()).unwrap();
        assert_eq!(ix.doc_count(), before);
    }

    #[test]
    fn search_tickets_on_disk_keeps_documents_and_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let mark = Watermark {
            event_id: 7,
            event_created_at: 99,
            building_after: Some(3),
        };
        {
            let ix = TicketIndex::open(Some(dir.path())).unwrap();
            assert!(TicketIndex::open(Some(dir.path())).is_err(), "one writer per directory");
            ix.add_messages(vec![msg(1, 1, 7, "gift card")], false).unwrap();
            ix.commit(&mark).unwrap();
        }
        let ix = TicketIndex::open(Some(dir.path())).unwrap();
        assert_eq!(ix.watermark().unwrap(), Some(mark));
        assert_eq!(ix.search(1, "gift cards", 10).unwrap(), [1]);
        ix.clear().unwrap();
        ix.commit(&Watermark::default()).unwrap();
        assert_eq!(ix.doc_count(), 0);
    }
}
