//! `storedesk bench search --messages N`: indexing rate and agent-search
//! latency of the ticket index on a synthetic help desk built from the FAQ
//! fixture: conversations in four languages, order numbers, contacts.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::search::fixture::{self, LANGS};
use crate::search::{MessageDoc, TicketDoc, TicketIndex, Watermark};

const WORKSPACES: i64 = 20;
/// Messages handed to the index at once, and how often it commits while
/// loading: about what a node rebuilding from the database does.
const BATCH: usize = 10_000;
const COMMIT_EVERY: usize = 100_000;
const QUERIES: usize = 600;
const WARMUP: usize = 60;
/// What `list_tickets` asks the index for.
const LIMIT: usize = 1000;

const NAMES: [(&str, &[&str], &[&str]); 4] = [
    (
        "en",
        &["Ann", "Bob", "Kate", "John", "Mary", "Peter", "Linda", "Tom"],
        &["Lee", "Smith", "Brown", "Miller", "Wilson", "Clark"],
    ),
    (
        "ru",
        &["Ольга", "Иван", "Анна", "Сергей", "Мария", "Дмитрий"],
        &["Петрова", "Иванов", "Смирнова", "Кузнецов", "Соколова"],
    ),
    (
        "uk",
        &["Олена", "Тарас", "Оксана", "Богдан", "Ірина", "Андрій"],
        &["Шевченко", "Коваленко", "Бондар", "Ткаченко", "Мельник"],
    ),
    (
        "fa",
        &["مریم", "علی", "زهرا", "رضا", "سارا", "حسین"],
        &["احمدی", "حسینی", "رضایی", "محمدی", "کریمی"],
    ),
];

/// What kind of thing an agent typed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Word,
    TwoWords,
    Question,
    Number,
    Email,
    Name,
    Subject,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Word,
        Kind::TwoWords,
        Kind::Question,
        Kind::Number,
        Kind::Email,
        Kind::Name,
        Kind::Subject,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::Word => "one word",
            Kind::TwoWords => "two words",
            Kind::Question => "customer's question",
            Kind::Number => "order number",
            Kind::Email => "e-mail",
            Kind::Name => "contact name",
            Kind::Subject => "subject",
        }
    }
}

/// Things the corpus contains, kept to ask for them later.
#[derive(Default)]
struct Seen {
    numbers: Vec<(i64, String)>,
    emails: Vec<(i64, String)>,
    names: Vec<(i64, String)>,
    subjects: Vec<(i64, String)>,
}

impl Seen {
    /// Keeps a sample of about `cap` of each, spread over the corpus.
    fn keep(list: &mut Vec<(i64, String)>, rng: &mut StdRng, ws: i64, value: String) {
        const CAP: usize = 500;
        if list.len() < CAP {
            list.push((ws, value));
        } else if rng.gen_ratio(1, 50) {
            let i = rng.gen_range(0..CAP);
            list[i] = (ws, value);
        }
    }
}

/// Indexes `messages` synthetic messages (in tickets of 1 to 9 messages,
/// 20 workspaces) in an on-disk index in a temporary folder, then times 600
/// varied searches. Seeded, so runs compare.
pub fn bench(messages: usize) -> anyhow::Result<String> {
    let faq = fixture::articles()?;
    let questions = fixture::questions()?;
    anyhow::ensure!(!faq.is_empty() && !questions.is_empty(), "the FAQ fixture is empty");
    let sentences: Vec<Vec<String>> = LANGS
        .iter()
        .map(|l| {
            faq.iter()
                .flat_map(|a| {
                    a.text(l.code())
                        .1
                        .split_inclusive(['.', '?', '!', '؟'])
                        .map(|s| s.trim().to_string())
                })
                .filter(|s| s.len() > 3)
                .collect()
        })
        .collect();
    let titles: Vec<Vec<&str>> = LANGS
        .iter()
        .map(|l| faq.iter().map(|a| a.text(l.code()).0.as_str()).collect())
        .collect();
    let mut rng = StdRng::seed_from_u64(7);

    let dir = std::env::temp_dir().join(format!("storedesk-bench-tickets-{:x}", rand::random::<u64>()));
    let result = run(&dir, messages, &sentences, &titles, &questions, &mut rng);
    let size = dir_size(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let (mut out, tickets) = result?;
    let summary = format!(
        "  corpus:   {messages} messages in {tickets} tickets, {} languages, {WORKSPACES} workspaces; index {:.0} MB on disk\n",
        LANGS.len(),
        size as f64 / 1e6
    );
    out.insert_str(out.find('\n').map(|i| i + 1).unwrap_or(0), &summary);
    Ok(out)
}

fn run(
    dir: &std::path::Path,
    messages: usize,
    sentences: &[Vec<String>],
    titles: &[Vec<&str>],
    questions: &[fixture::Question],
    rng: &mut StdRng,
) -> anyhow::Result<(String, i64)> {
    let index = TicketIndex::open(Some(dir))?;
    let mut seen = Seen::default();
    let mut written = 0usize;
    let mut since_commit = 0usize;
    let mut ticket_id = 0i64;
    let mut message_id = 0i64;
    let mut batch_messages = Vec::with_capacity(BATCH + 16);
    let mut batch_tickets = Vec::new();
    let started = Instant::now();
    while written < messages {
        ticket_id += 1;
        let ws = ticket_id % WORKSPACES + 1;
        let lang_no = pick_lang(rng);
        let lang = LANGS[lang_no].code();
        let (_, first, last) = NAMES.iter().find(|(l, _, _)| *l == lang).expect("names");
        let name = format!(
            "{} {}",
            first.choose(rng).expect("name"),
            last.choose(rng).expect("name")
        );
        let email = format!("user{ticket_id}@store{}.test", rng.gen_range(1..50));
        let subject = if rng.gen_bool(0.6) {
            titles[lang_no].choose(rng).expect("title").to_string()
        } else {
            sentences[lang_no].choose(rng).expect("sentence").clone()
        };
        Seen::keep(&mut seen.emails, rng, ws, email.clone());
        Seen::keep(&mut seen.names, rng, ws, name.clone());
        Seen::keep(&mut seen.subjects, rng, ws, subject.clone());
        batch_tickets.push(TicketDoc {
            workspace_id: ws,
            ticket_id,
            subject,
            contact_name: name,
            contact_email: Some(email),
        });
        for _ in 0..rng.gen_range(1..=9).min(messages - written) {
            message_id += 1;
            let mut body: Vec<String> = (0..rng.gen_range(1..=3))
                .map(|_| sentences[lang_no].choose(rng).expect("sentence").clone())
                .collect();
            if rng.gen_bool(0.3) {
                let number = rng.gen_range(10_000..100_000).to_string();
                body.push(format!("#{number}"));
                Seen::keep(&mut seen.numbers, rng, ws, number);
            }
            batch_messages.push(MessageDoc {
                workspace_id: ws,
                ticket_id,
                message_id,
                body: body.join(" "),
            });
            written += 1;
        }
        if batch_messages.len() >= BATCH || written == messages {
            since_commit += batch_messages.len();
            index.add_messages(std::mem::take(&mut batch_messages), false)?;
            index.upsert_tickets(std::mem::take(&mut batch_tickets))?;
            if since_commit >= COMMIT_EVERY || written == messages {
                index.commit(&Watermark {
                    event_id: message_id,
                    event_created_at: 0,
                    ..Default::default()
                })?;
                since_commit = 0;
            }
        }
    }
    let indexing = started.elapsed();
    let docs = index.doc_count();

    let mut latencies: Vec<(Kind, Duration)> = Vec::with_capacity(QUERIES);
    let mut found = 0usize;
    let mut empty = 0usize;
    for n in 0..QUERIES + WARMUP {
        let kind = Kind::ALL[n % Kind::ALL.len()];
        let (ws, q) = query(kind, sentences, questions, &seen, rng);
        let t = Instant::now();
        let ids = index.search(ws, &q, LIMIT)?;
        let took = t.elapsed();
        if n >= WARMUP {
            latencies.push((kind, took));
            found += ids.len();
            empty += usize::from(ids.is_empty());
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let pct = |sorted: &[Duration], p: f64| sorted[((sorted.len() as f64 - 1.0) * p).round() as usize];
    let mut all: Vec<Duration> = latencies.iter().map(|(_, d)| *d).collect();
    all.sort();

    let mut out = String::new();
    writeln!(out, "ticket search benchmark (agent search)")?;
    writeln!(
        out,
        "  indexing: {:.1} s, {:.0} messages/s ({} documents with the tickets; batches of {BATCH}, a commit every {COMMIT_EVERY})",
        indexing.as_secs_f64(),
        messages as f64 / indexing.as_secs_f64().max(1e-9),
        docs
    )?;
    writeln!(
        out,
        "  search:   {QUERIES} queries (up to {LIMIT} tickets each): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(pct(&all, 0.5)),
        ms(pct(&all, 0.9)),
        ms(pct(&all, 0.99)),
        ms(*all.last().expect("latencies"))
    )?;
    for kind in Kind::ALL {
        let mut d: Vec<Duration> = latencies.iter().filter(|(k, _)| *k == kind).map(|(_, d)| *d).collect();
        d.sort();
        writeln!(
            out,
            "            {:<20} p50 {:.2} ms, p99 {:.2} ms",
            kind.label(),
            ms(pct(&d, 0.5)),
            ms(pct(&d, 0.99))
        )?;
    }
    writeln!(
        out,
        "            {:.0} tickets per query on average, {empty} queries found none",
        found as f64 / QUERIES as f64
    )?;
    Ok((out, ticket_id))
}

/// en 40%, ru 30%, uk 15%, fa 15%.
fn pick_lang(rng: &mut StdRng) -> usize {
    match rng.gen_range(0..100) {
        0..40 => 0,
        40..70 => 1,
        70..85 => 2,
        _ => 3,
    }
}

fn query(
    kind: Kind,
    sentences: &[Vec<String>],
    questions: &[fixture::Question],
    seen: &Seen,
    rng: &mut StdRng,
) -> (i64, String) {
    let ws = rng.gen_range(1..=WORKSPACES);
    let from = |list: &[(i64, String)], rng: &mut StdRng| list.choose(rng).cloned().unwrap_or((1, "order".into()));
    match kind {
        Kind::Word | Kind::TwoWords => {
            let s = sentences[pick_lang(rng)].choose(rng).expect("sentence");
            let words: Vec<&str> = s
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() > 3)
                .collect();
            if words.is_empty() {
                return (ws, s.clone());
            }
            let i = rng.gen_range(0..words.len());
            if kind == Kind::Word || i + 1 >= words.len() {
                (ws, words[i].to_string())
            } else {
                (ws, format!("{} {}", words[i], words[i + 1]))
            }
        }
        Kind::Question => (ws, questions.choose(rng).expect("questions").text.clone()),
        Kind::Number => {
            let (ws, n) = from(&seen.numbers, rng);
            (ws, format!("#{n}"))
        }
        Kind::Email => from(&seen.emails, rng),
        Kind::Name => from(&seen.names, rng),
        Kind::Subject => from(&seen.subjects, rng),
    }
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    /// `cargo nextest run --release -E 'test(search_ticket_bench_1m)' --run-ignored only --no-capture`
    #[test]
    #[ignore = "benchmark: run in release mode"]
    fn search_ticket_bench_1m() {
        eprintln!("{}", super::bench(1_000_000).unwrap());
    }

    #[test]
    fn search_ticket_bench_small_runs() {
        let report = super::bench(2_000).unwrap();
        assert!(report.contains("p99") && report.contains("messages/s"), "{report}");
    }
}
