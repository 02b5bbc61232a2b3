//! The tantivy index behind `KbIndex`: writes, and query building.
//!
//! Every language has its own title/body fields with its own analyzer; a
//! document fills only its language's fields, while a query is analysed once
//! per language and sent to all of them. So a Russian question typed into an
//! English widget still finds Russian articles, and each field sees query terms
//! stemmed the way its documents were.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use super::analysis::{self, script_of, Lang, LANGS, NGRAM_TOKENIZER};
use super::schema::{build_schema, lang_index, open_dir, to_document, Fields, LangFields};
use super::{snippet, KbDoc, KbHit, Synonyms};

/// Title matches weigh twice body matches (three times ranked short titles
/// full of common words, "order", "parcel", above the right article).
const TITLE_BOOST: f32 = 2.0;
/// A phrasing is a whole question someone asked for this article.
const ASK_BOOST: f32 = 2.0;
/// A synonym of a typed word counts for this share of the word itself.
const SYNONYM_WEIGHT: f32 = 0.6;
/// Most boost clicks can give an article for one query (about a strong
/// title match): learning reorders close results, it does not bury text.
const CLICK_BOOST_MAX: f32 = 12.0;
/// A typo-corrected term counts for less than the same term typed right.
const FUZZY_WEIGHT: f32 = 0.4;
/// Per trigram; many trigrams match per word, so each must weigh little.
const NGRAM_WEIGHT: f32 = 0.15;
/// Added to every document in the query's language: larger than any BM25
/// score here, so same-language hits always come first, other languages after.
const LANG_BONUS: f32 = 10_000.0;
/// Added to documents matching at least one query term exactly, so documents
/// found only through typo correction or trigrams rank after them.
const EXACT_BONUS: f32 = 500.0;
/// Long queries are cut to this many terms (a pasted 10 KB e-mail must not
/// turn into a 10,000-clause query).
const MAX_TERMS: usize = 32;
const MAX_NGRAMS: usize = 64;
/// Fuzzy expansion costs a term-dictionary walk per term and field, and long
/// queries have enough exact terms to rank well without it.
const FUZZY_MAX_TERMS: usize = 6;
const FUZZY_MAX_EXPANSIONS: usize = 12;
/// Words of a query the index does not know that are looked at more closely
/// (Persian variants, typo expansion in longer queries), per language.
const UNKNOWN_MAX_TERMS: usize = 8;
/// Typo expansion of an unknown word in a longer query: words this long and
/// up (shorter ones have too many neighbours to guess from).
const UNKNOWN_FUZZY_MIN_CHARS: usize = 5;
/// A plainer form of a Persian word (پولمو → پول) counts for this share of
/// the word typed as such.
const VARIANT_WEIGHT: f32 = 0.8;
/// Candidates looked at before keeping the closest `FUZZY_MAX_EXPANSIONS`.
const FUZZY_MAX_CANDIDATES: usize = 64;
const MAX_LIMIT: usize = 100;
/// Extra candidates fetched to break ties by id.
const TIE_SLACK: usize = 8;
/// Synonyms added per language and query, at most.
const MAX_SYNONYM_TERMS: usize = 48;
/// Indexing memory, shared by the writer threads (tantivy wants >= 15 MB each).
const WRITER_THREADS: usize = 2;
const WRITER_BUDGET: usize = 96 * 1024 * 1024;

/// The knowledge-base index. Cheap to clone; all clones share one index.
#[derive(Clone)]
pub struct KbIndex {
    inner: Arc<Inner>,
}

struct Inner {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    synonyms: Synonyms,
}

/// What a workspace has taught its search besides its articles.
#[derive(Debug, Default, Clone)]
pub struct Tuning {
    /// The workspace's own synonym groups, on top of the shipped ones.
    pub synonyms: Option<Arc<Synonyms>>,
    /// Articles opened after this very query, with their decayed click
    /// weight (see `domain::kb_learning`).
    pub clicks: Vec<(i64, f32)>,
}

impl KbIndex {
    /// `None`: in RAM. `Some(dir)`: on disk, created when missing; an index
    /// with another schema (analysis changed) or one that cannot be read is
    /// recreated empty, since the caller rebuilds it from the database.
    pub fn open(dir: Option<&Path>) -> anyhow::Result<KbIndex> {
        let (schema, fields) = build_schema();
        let index = match dir {
            None => Index::create_in_ram(schema),
            Some(dir) => open_dir(dir, schema)?,
        };
        let tokenizers = index.tokenizers();
        for lang in LANGS {
            tokenizers.register(lang.tokenizer_name(), analysis::analyzer(lang));
        }
        tokenizers.register(NGRAM_TOKENIZER, analysis::ngram_analyzer());
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index
            .writer_with_num_threads(WRITER_THREADS, WRITER_BUDGET)
            .context("opening the knowledge-base index writer (is another process using it?)")?;
        Ok(KbIndex {
            inner: Arc::new(Inner {
                index,
                reader,
                writer: Mutex::new(writer),
                fields,
                synonyms: Synonyms::builtin(),
            }),
        })
    }

    pub fn upsert(&self, doc: KbDoc) -> anyhow::Result<()> {
        self.upsert_many(vec![doc])
    }

    /// All documents in one commit: rebuilds and bulk loads.
    pub fn upsert_many(&self, docs: Vec<KbDoc>) -> anyhow::Result<()> {
        self.write(|w, f| {
            for doc in docs {
                w.delete_term(Term::from_field_i64(f.id, doc.id));
                w.add_document(to_document(f, doc))?;
            }
            Ok(())
        })
    }

    pub fn delete(&self, id: i64) -> anyhow::Result<()> {
        self.write(|w, f| {
            w.delete_term(Term::from_field_i64(f.id, id));
            Ok(())
        })
    }

    pub fn clear(&self) -> anyhow::Result<()> {
        self.write(|w, _| {
            w.delete_all_documents()?;
            Ok(())
        })
    }

    pub fn doc_count(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    /// Runs `change`, commits and reloads the reader, so the change is visible
    /// to searches once this returns. A failed change is rolled back.
    fn write(&self, change: impl FnOnce(&mut IndexWriter, &Fields) -> anyhow::Result<()>) -> anyhow::Result<()> {
        let mut w = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = change(&mut w, &self.inner.fields) {
            w.rollback()?;
            return Err(e);
        }
        w.commit()?;
        self.inner.reader.reload()?;
        Ok(())
    }

    /// Best first, at most `limit`; only `workspace_id`'s documents. Documents
    /// in `lang` rank first; others follow as fallback.
    pub fn search(&self, workspace_id: i64, query: &str, lang: &str, limit: usize) -> anyhow::Result<Vec<KbHit>> {
        self.search_tuned(workspace_id, query, lang, limit, &Tuning::default())
    }

    /// `search` with what the workspace has taught it: its synonyms, and
    /// boosts for articles opened after the same query.
    pub fn search_tuned(
        &self,
        workspace_id: i64,
        query: &str,
        lang: &str,
        limit: usize,
        tuning: &Tuning,
    ) -> anyhow::Result<Vec<KbHit>> {
        let limit = limit.min(MAX_LIMIT);
        if limit == 0 || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let f = &self.inner.fields;
        let searcher = self.inner.reader.searcher();
        let lang_code = lang.trim().to_lowercase();
        let query_lang = Lang::parse(&lang_code).unwrap_or(Lang::En);
        let Some((text_query, exact, terms)) = self.text_query(&searcher, query, query_lang, tuning)? else {
            return Ok(Vec::new());
        };
        let workspace = TermQuery::new(
            Term::from_field_i64(f.workspace, workspace_id),
            IndexRecordOption::Basic,
        );
        let same_lang = TermQuery::new(Term::from_field_text(f.language, &lang_code), IndexRecordOption::Basic);
        let query = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(workspace), 0.0)) as Box<dyn Query>,
            ),
            (Occur::Must, text_query),
            (
                Occur::Should,
                Box::new(ConstScoreQuery::new(Box::new(same_lang), LANG_BONUS)),
            ),
            (Occur::Should, Box::new(ConstScoreQuery::new(exact, EXACT_BONUS))),
        ]);
        // A few more than asked, so equal scores can be ordered by id: the
        // index writes with several threads, and which segment a document
        // lands in must not decide between ties.
        let top = searcher.search(&query, &TopDocs::with_limit(limit + TIE_SLACK).order_by_score())?;
        let mut top: Vec<(f32, i64, tantivy::DocAddress)> = top
            .into_iter()
            .map(|(score, addr)| {
                let id = searcher
                    .segment_reader(addr.segment_ord)
                    .fast_fields()
                    .i64("id")
                    .ok()
                    .and_then(|c| c.first(addr.doc_id))
                    .unwrap_or_default();
                (score, id, addr)
            })
            .collect();
        top.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        top.truncate(limit);
        let mut hits = Vec::with_capacity(top.len());
        for (score, _, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let language = text(f.language);
            let doc_lang = Lang::parse(&language).unwrap_or(Lang::En);
            let body = text(f.body);
            let empty = HashSet::new();
            let snippet = snippet::make(&body, doc_lang, terms.get(&doc_lang).unwrap_or(&empty));
            hits.push(KbHit {
                id: doc.get_first(f.id).and_then(|v| v.as_i64()).unwrap_or_default(),
                title: text(f.title),
                url: text(f.url),
                snippet,
                score: reported_score(score, language == lang_code),
                language,
            });
        }
        Ok(hits)
    }

    /// The text part of a query: per language, every analysed term against
    /// title (boosted) and body, plus fuzzy expansions for short queries and
    /// trigrams for Ukrainian. Also returns the exact-terms-only query (for the
    /// exact-match tier) and, per language, the terms a snippet should
    /// highlight. `None` when nothing searchable is left (all stop words or
    /// punctuation).
    #[allow(clippy::type_complexity)]
    fn text_query(
        &self,
        searcher: &Searcher,
        query: &str,
        query_lang: Lang,
        tuning: &Tuning,
    ) -> anyhow::Result<Option<(Box<dyn Query>, Box<dyn Query>, HashMap<Lang, HashSet<String>>)>> {
        let f = &self.inner.fields;
        let query = cap_query(query);
        let tokenizers = self.inner.index.tokenizers();
        let mut per_lang: Vec<(Lang, Vec<String>)> = Vec::new();
        for lang in LANGS {
            let mut analyzer: TextAnalyzer = tokenizers.get(lang.tokenizer_name()).context("tokenizer")?;
            per_lang.push((
                lang,
                first_unique(
                    analysis::analyze(&mut analyzer, query).into_iter().map(|t| t.text),
                    MAX_TERMS,
                ),
            ));
        }
        // Short queries expand every word to its near spellings (prefixes,
        // typos); longer ones have enough exact words to rank well, so only
        // the words the index does not know are expanded, in the query's
        // language, a few of them.
        let short = per_lang.iter().map(|(_, t)| t.len()).max().unwrap_or(0) <= FUZZY_MAX_TERMS;
        let mut exact: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut highlight: HashMap<Lang, HashSet<String>> = HashMap::new();
        for (lang, terms) in per_lang {
            let lf = f.by_lang[lang_index(lang)];
            let marks = highlight.entry(lang).or_default();
            // Words the index does not know: a plainer form it knows (Persian
            // enclitics and colloquial endings), else a typo expansion.
            let mut unknown_left = UNKNOWN_MAX_TERMS;
            let mut words: Vec<(String, Option<String>, bool)> = Vec::with_capacity(terms.len());
            for t in &terms {
                let same_script = script_of(t) == lang.script();
                let mut fuzzy = short && same_script;
                let mut variant = None;
                let look_closer = same_script && (lang == query_lang || (short && lang == Lang::Fa));
                if look_closer && unknown_left > 0 && !known(searcher, lf, t)? {
                    unknown_left -= 1;
                    if lang == Lang::Fa {
                        for v in analysis::fa_variants(t) {
                            if known(searcher, lf, &v)? {
                                variant = Some(v);
                                break;
                            }
                        }
                    }
                    if variant.is_none() && t.chars().count() >= UNKNOWN_FUZZY_MIN_CHARS {
                        fuzzy = true;
                    }
                }
                words.push((t.clone(), variant, fuzzy));
            }
            // Synonyms of what was typed, and of the plainer forms in place
            // of the words they stand for (پولمو → پول → بازپرداخت).
            let mut related = HashMap::new();
            let plain: Vec<String> = words
                .iter()
                .map(|(t, v, _)| v.clone().unwrap_or_else(|| t.clone()))
                .collect();
            for seq in [&terms, &plain] {
                self.inner.synonyms.expand(lang, seq, SYNONYM_WEIGHT, &mut related);
                if let Some(own) = &tuning.synonyms {
                    own.expand(lang, seq, SYNONYM_WEIGHT, &mut related);
                }
            }
            let mut related: Vec<(String, f32)> = related.into_iter().filter(|(t, _)| !plain.contains(t)).collect();
            related.sort_by(|a, b| a.0.cmp(&b.0));
            for (t, weight) in related.into_iter().take(MAX_SYNONYM_TERMS) {
                exact.extend(fields_query(lf, &t, weight));
                marks.insert(t);
            }
            for (t, variant, fuzzy) in words {
                exact.extend(fields_query(lf, &t, 1.0));
                if let Some(v) = &variant {
                    exact.extend(fields_query(lf, v, VARIANT_WEIGHT));
                }
                for (field, boost) in [(lf.title, TITLE_BOOST), (lf.ask, ASK_BOOST), (lf.body, 1.0)] {
                    if fuzzy {
                        for e in expand_fuzzy(searcher, field, &t)? {
                            clauses.push((Occur::Should, term_query(field, &e, boost * FUZZY_WEIGHT)));
                            marks.insert(e);
                        }
                    }
                }
                marks.extend(variant);
                marks.insert(t);
            }
        }
        let mut ngram = tokenizers.get(NGRAM_TOKENIZER).context("tokenizer")?;
        for g in first_unique(
            analysis::analyze(&mut ngram, query).into_iter().map(|t| t.text),
            MAX_NGRAMS,
        ) {
            clauses.push((Occur::Should, term_query(f.ngram, &g, NGRAM_WEIGHT)));
        }
        for &(id, weight) in &tuning.clicks {
            let boost = (weight.max(0.0).ln_1p() * 4.0).min(CLICK_BOOST_MAX);
            if boost > 0.0 {
                let id = TermQuery::new(Term::from_field_i64(f.id, id), IndexRecordOption::Basic);
                exact.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(id), boost))));
            }
        }
        if exact.is_empty() && clauses.is_empty() {
            return Ok(None);
        }
        let exact_only = BooleanQuery::new(exact.iter().map(|(o, q)| (*o, q.box_clone())).collect());
        clauses.extend(exact);
        Ok(Some((
            Box::new(BooleanQuery::new(clauses)),
            Box::new(exact_only),
            highlight,
        )))
    }
}

/// The BM25 part of a score, without the ranking tiers added on top.
fn reported_score(score: f32, same_lang: bool) -> f32 {
    let score = if same_lang { score - LANG_BONUS } else { score };
    if score >= EXACT_BONUS {
        score - EXACT_BONUS
    } else {
        score
    }
}

pub(super) fn term_query(field: Field, text: &str, boost: f32) -> Box<dyn Query> {
    let q = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs);
    if boost == 1.0 {
        Box::new(q)
    } else {
        Box::new(BoostQuery::new(Box::new(q), boost))
    }
}

/// One word against a language's title, phrasings and body, `weight` times
/// a typed word.
fn fields_query(lf: LangFields, term: &str, weight: f32) -> Vec<(Occur, Box<dyn Query>)> {
    let parts: Vec<Box<dyn Query>> = [(lf.title, TITLE_BOOST), (lf.ask, ASK_BOOST), (lf.body, 1.0)]
        .into_iter()
        .map(|(field, boost)| term_query(field, term, boost * weight))
        .collect();
    parts.into_iter().map(|q| (Occur::Should, q)).collect()
}

/// Whether any of a language's fields holds `term` (a dictionary lookup
/// per segment and field, no scan).
fn known(searcher: &Searcher, lf: LangFields, term: &str) -> anyhow::Result<bool> {
    for field in [lf.title, lf.body, lf.ask] {
        if searcher.doc_freq(&Term::from_field_text(field, term))? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Indexed terms that start with something within edit distance 1 (terms of
/// 4+ chars) or 2 (8+) of `term`, the term itself excluded; the closest in
/// length are kept. Prefix matching also bridges stems that differ only in
/// their ending (Porter: deliver → deliv, delivery → deliveri) and words still
/// being typed. Expanding into plain term queries (rather than tantivy's
/// constant-score FuzzyTermQuery) keeps BM25 weighting, so a typo of a rare
/// word still outranks a typo of a common one.
fn expand_fuzzy(searcher: &Searcher, field: Field, term: &str) -> anyhow::Result<BTreeSet<String>> {
    let len = term.chars().count();
    let mut out = BTreeSet::new();
    if len < 4 {
        return Ok(out);
    }
    let distance = if len >= 8 { 2 } else { 1 };
    let automaton = FuzzyTermQuery::new_prefix(Term::from_field_text(field, term), distance, true).automaton()?;
    let mut found = BTreeSet::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().search(&automaton).into_stream()?;
        while found.len() < FUZZY_MAX_CANDIDATES && stream.advance() {
            if let Ok(s) = std::str::from_utf8(stream.key()) {
                if s != term {
                    found.insert(s.to_string());
                }
            }
        }
    }
    let mut found: Vec<String> = found.into_iter().collect();
    found.sort_by_key(|s| (s.chars().count().abs_diff(len), s.clone()));
    out.extend(found.into_iter().take(FUZZY_MAX_EXPANSIONS));
    Ok(out)
}

/// Cuts a query to roughly its first `MAX_TERMS` words before analysis, so
/// huge input costs no more than a long sentence.
fn cap_query(query: &str) -> &str {
    let mut words = 0;
    let mut in_word = false;
    for (i, c) in query.char_indices() {
        let word_char = c.is_alphanumeric();
        if word_char && !in_word {
            words += 1;
            // Stop words are dropped later, so allow some slack over MAX_TERMS.
            if words > MAX_TERMS * 2 {
                return &query[..i];
            }
        }
        in_word = word_char;
    }
    query
}

fn first_unique(items: impl Iterator<Item = String>, max: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    items.filter(|t| seen.insert(t.clone())).take(max).collect()
}
