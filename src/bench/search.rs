//! `storedesk bench search`: indexing rate and query latency of the
//! knowledge-base index on a synthetic corpus grown from the FAQ fixture.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::search::fixture::{self, Article, LANGS};
use crate::search::{KbDoc, KbIndex};

const WORKSPACES: usize = 20;
const QUERIES: usize = 2_000;
const WARMUP: usize = 100;
/// Documents per commit while loading: what a rebuild would do.
const BATCH: usize = 5_000;
const LIMIT: usize = 10;

/// Builds an in-RAM index of `articles` synthetic articles (4 languages, 20
/// workspaces), then times 2,000 searches of the fixture's user questions.
/// Seeded, so two runs index and query the same text.
pub fn bench(articles: usize) -> anyhow::Result<String> {
    let faq = fixture::articles()?;
    let questions = fixture::questions()?;
    anyhow::ensure!(!faq.is_empty() && !questions.is_empty(), "the FAQ fixture is empty");
    let mut rng = StdRng::seed_from_u64(42);
    let vocab: Vec<Vec<&str>> = LANGS.iter().map(|l| vocabulary(&faq, l.code())).collect();

    let index = KbIndex::open(None)?;
    let started = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..articles {
        batch.push(synthetic(&faq, &vocab, i, &mut rng));
        if batch.len() == BATCH {
            index.upsert_many(std::mem::take(&mut batch))?;
        }
    }
    index.upsert_many(batch)?;
    let indexing = started.elapsed();

    let mut latencies = Vec::with_capacity(QUERIES);
    let mut hits = 0usize;
    let mut empty = 0usize;
    for n in 0..QUERIES + WARMUP {
        let q = questions.choose(&mut rng).expect("questions");
        // Mostly the question's own language, sometimes another UI language,
        // so the fallback path is measured too.
        let lang = if rng.gen_bool(0.8) {
            q.lang
        } else {
            LANGS[rng.gen_range(0..4)].code()
        };
        let workspace = rng.gen_range(1..=WORKSPACES) as i64;
        let t = Instant::now();
        let found = index.search(workspace, &q.text, lang, LIMIT)?;
        let took = t.elapsed();
        if n >= WARMUP {
            latencies.push(took);
            hits += found.len();
            empty += usize::from(found.is_empty());
        }
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    let mut out = String::new();
    writeln!(out, "knowledge-base search benchmark")?;
    writeln!(
        out,
        "  corpus:   {articles} articles, {} languages, {WORKSPACES} workspaces ({} docs in index)",
        LANGS.len(),
        index.doc_count()
    )?;
    writeln!(
        out,
        "  indexing: {:.2} s, {:.0} docs/s (batches of {BATCH}, one commit each)",
        indexing.as_secs_f64(),
        articles as f64 / indexing.as_secs_f64().max(1e-9)
    )?;
    writeln!(
        out,
        "  search:   {QUERIES} queries (limit {LIMIT}): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(*latencies.last().expect("latencies"))
    )?;
    writeln!(
        out,
        "            {:.1} hits per query on average, {empty} queries with no hit",
        hits as f64 / QUERIES as f64
    )?;
    Ok(out)
}

/// The `i`-th synthetic article. The first articles of each workspace are the
/// FAQ itself; later ones are variants (sentences shuffled and dropped, words
/// from other articles mixed in) so the term statistics are not just copies.
fn synthetic(faq: &[Article], vocab: &[Vec<&str>], i: usize, rng: &mut StdRng) -> KbDoc {
    let per_copy = faq.len() * LANGS.len();
    let article = &faq[i % faq.len()];
    let lang_no = (i / faq.len()) % LANGS.len();
    let lang = LANGS[lang_no].code();
    let copy = i / per_copy;
    let workspace_id = (copy % WORKSPACES + 1) as i64;
    let (title, body) = article.text(lang);
    let (title, body) = if copy < WORKSPACES {
        (title.clone(), body.clone())
    } else {
        let mut sentences: Vec<&str> = body.split_inclusive(['.', '?', '!', '؟']).map(str::trim).collect();
        sentences.shuffle(rng);
        if sentences.len() > 2 {
            sentences.truncate(sentences.len() - 1);
        }
        let words = &vocab[lang_no];
        let extra: Vec<&str> = (0..rng.gen_range(5..20))
            .map(|_| words[rng.gen_range(0..words.len())])
            .collect();
        (
            format!("{title} {}", copy),
            format!("{} {}.", sentences.join(" "), extra.join(" ")),
        )
    };
    KbDoc {
        id: i as i64 + 1,
        workspace_id,
        language: lang.to_string(),
        title,
        body,
        tags: article.tags.clone(),
        phrasings: Vec::new(),
        url: format!("/kb/{lang}/{}-{copy}", article.key),
    }
}

fn vocabulary<'a>(faq: &'a [Article], lang: &str) -> Vec<&'a str> {
    faq.iter()
        .flat_map(|a| a.text(lang).1.split_whitespace())
        .filter(|w| w.chars().count() > 3)
        .collect()
}

#[cfg(test)]
mod tests {
    /// `cargo nextest run --release -E 'test(search_bench_50k)' --run-ignored only --no-capture`
    #[test]
    #[ignore = "benchmark: run in release mode"]
    fn search_bench_50k() {
        eprintln!("{}", super::bench(50_000).unwrap());
    }

    #[test]
    fn search_bench_small_runs() {
        let report = super::bench(300).unwrap();
        assert!(report.contains("p99"), "{report}");
    }
}
