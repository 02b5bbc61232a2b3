//! The multilingual web-shop FAQ under tests/fixtures/kb: relevance tests
//! measure against it and the benchmark builds its synthetic corpus from it.
//! Embedded at compile time so `storedesk bench search` needs no files.
//! Compiled only for tests and with the `bench` feature: the server never
//! reads it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The index's languages, for the benchmarks in `crate::bench`.
pub use super::analysis::LANGS;
#[cfg(test)]
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
    #[cfg_attr(not(test), allow(dead_code))] // the benchmark only asks
    pub expect: String,
}

pub fn articles() -> anyhow::Result<Vec<Article>> {
    Ok(serde_json::from_str(FAQ_JSON)?)
}

/// questions.json maps a language to a list of [question, article key].
pub fn questions() -> anyhow::Result<Vec<Question>> {
    let by_lang: BTreeMap<String, Vec<(String, String)>> = serde_json::from_str(QUESTIONS_JSON)?;
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

#[cfg(test)]
/// Id of an article's translation: article number * 10 + language number,
/// so an id tells both apart in test failures.
pub fn doc_id(article: usize, lang: usize) -> i64 {
    (article * 10 + lang + 1) as i64
}

/// The whole FAQ as documents of one workspace.
#[cfg(test)]
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
                url: format!("/kb/{}/{}", lang.code(), a.key),
            });
        }
    }
    out
}
