//! The multilingual web-shop FAQ under tests/fixtures/kb: relevance tests
//! measure against it and the benchmark builds its synthetic corpus from it.
//! Embedded at compile time so `storedesk bench search` needs no files.
//! Compiled only for tests and with the `bench` feature: the server never
//! reads it. `storedesk bench relevance` parses the same shape from files
//! (tests/fixtures/kb and the held-out tests/fixtures/kb-eval).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The index's languages, for the benchmarks in `crate::bench`.
pub use super::analysis::LANGS;
use super::KbDoc;

const FAQ_JSON: &str = include_str!("../../tests/fixtures/kb/faq.json");
const QUESTIONS_JSON: &str = include_str!("../../tests/fixtures/kb/questions.json");

/// One article in all four languages, each as (title, body).
#[derive(Debug, Deserialize)]
pub struct Article {
    pub key: String,
    pub tags: Vec<String>,
    pub en: (String, String),
    pub ru: (String, String),
    pub uk: (String, String),
    pub fa: (String, String),
}

impl Article {
    pub fn text(&self, lang: &str) -> &(String, String) {
        match lang {
            "ru" => &self.ru,
            "uk" => &self.uk,
            "fa" => &self.fa,
            _ => &self.en,
        }
    }
}

/// A user question and the key of the article that answers it.
#[derive(Debug, Clone)]
pub struct Question {
    pub lang: &'static str,
    pub text: String,
    pub expect: String,
}

pub fn articles() -> anyhow::Result<Vec<Article>> {
    parse_articles(FAQ_JSON)
}

pub fn questions() -> anyhow::Result<Vec<Question>> {
    parse_questions(QUESTIONS_JSON)
}

/// faq.json: a list of articles, each with its key, tags and [title, body]
/// per language.
pub fn parse_articles(json: &str) -> anyhow::Result<Vec<Article>> {
    Ok(serde_json::from_str(json)?)
}

/// questions*.json map a language to a list of [question, article key];
/// languages the index does not know are skipped.
pub fn parse_questions(json: &str) -> anyhow::Result<Vec<Question>> {
    let by_lang: BTreeMap<String, Vec<(String, String)>> = serde_json::from_str(json)?;
    let mut out = Vec::new();
    for lang in LANGS {
        for (text, expect) in by_lang.get(lang.code()).into_iter().flatten() {
            out.push(Question {
                lang: lang.code(),
                text: text.clone(),
                expect: expect.clone(),
            });
        }
    }
    Ok(out)
}

/// Id of an article's translation: article number * 10 + language number,
/// so an id tells both apart in test failures.
pub fn doc_id(article: usize, lang: usize) -> i64 {
    (article * 10 + lang + 1) as i64
}

/// The article number of a document id made by `doc_id`.
#[cfg(feature = "bench")]
pub fn article_of(id: i64) -> usize {
    (id as usize - 1) / 10
}

/// The whole FAQ as documents of one workspace.
pub fn docs(articles: &[Article], workspace_id: i64) -> Vec<KbDoc> {
    let mut out = Vec::new();
    for (i, a) in articles.iter().enumerate() {
        for (l, lang) in LANGS.iter().enumerate() {
            let (title, body) = a.text(lang.code()).clone();
            out.push(KbDoc {
                id: doc_id(i, l),
                workspace_id,
                language: lang.code().to_string(),
                title,
                body,
                tags: a.tags.clone(),
                phrasings: Vec::new(),
                url: format!("/kb/{}/{}", lang.code(), a.key),
            });
        }
    }
    out
}
