//! Schema of the knowledge-base index, documents, and opening it on disk.

use std::path::Path;

use anyhow::Context;
use tantivy::directory::MmapDirectory;
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STORED, STRING,
};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument};

use super::analysis::{Lang, LANGS, NGRAM_TOKENIZER};
use super::KbDoc;

#[derive(Clone, Copy)]
pub struct LangFields {
    pub title: Field,
    pub body: Field,
    /// "Other ways to ask this": phrasings admins added to the article.
    pub ask: Field,
}

/// Stored fields hold what a hit returns; the per-language and trigram
/// fields are index-only.
pub struct Fields {
    pub id: Field,
    pub workspace: Field,
    pub language: Field,
    pub title: Field,
    pub body: Field,
    pub url: Field,
    pub by_lang: [LangFields; 4],
    pub ngram: Field,
}

pub fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let num = NumericOptions::default().set_indexed().set_fast();
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let id = b.add_i64_field("id", num.clone().set_stored());
    let workspace = b.add_i64_field("workspace_id", num);
    let language = b.add_text_field("language", STRING | STORED);
    let title = b.add_text_field("title", STORED);
    let body = b.add_text_field("body", STORED);
    let url = b.add_text_field("url", STORED);
    let by_lang = LANGS.map(|lang| LangFields {
        title: b.add_text_field(&format!("title_{}", lang.code()), text(lang.tokenizer_name())),
        body: b.add_text_field(&format!("body_{}", lang.code()), text(lang.tokenizer_name())),
        ask: b.add_text_field(&format!("ask_{}", lang.code()), text(lang.tokenizer_name())),
    });
    let ngram = b.add_text_field("uk_ngram", text(NGRAM_TOKENIZER));
    (
        b.build(),
        Fields {
            id,
            workspace,
            language,
            title,
            body,
            url,
            by_lang,
            ngram,
        },
    )
}

pub fn lang_index(lang: Lang) -> usize {
    LANGS.iter().position(|l| *l == lang).unwrap_or(0)
}

pub fn to_document(f: &Fields, doc: KbDoc) -> TantivyDocument {
    let language = doc.language.trim().to_lowercase();
    let lf = f.by_lang[lang_index(Lang::parse(&language).unwrap_or(Lang::En))];
    let mut d = TantivyDocument::default();
    d.add_i64(f.id, doc.id);
    d.add_i64(f.workspace, doc.workspace_id);
    d.add_text(f.language, &language);
    d.add_text(lf.title, &doc.title);
    d.add_text(lf.body, &doc.body);
    // Tags are curated keywords: searchable like body text.
    for tag in &doc.tags {
        d.add_text(lf.body, tag);
    }
    for phrasing in &doc.phrasings {
        d.add_text(lf.ask, phrasing);
    }
    if language == "uk" {
        d.add_text(f.ngram, &doc.title);
        d.add_text(f.ngram, &doc.body);
    }
    d.add_text(f.title, &doc.title);
    d.add_text(f.body, &doc.body);
    d.add_text(f.url, &doc.url);
    d
}

/// Opens the index in `dir`, or recreates it empty when it is missing, has
/// another schema, or cannot be read.
pub fn open_dir(dir: &Path, schema: Schema) -> anyhow::Result<Index> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if dir.join("meta.json").exists() {
        // Opening a reader loads every segment: that is the readability check.
        let existing = MmapDirectory::open(dir).map_err(anyhow::Error::from).and_then(|d| {
            let index = Index::open(d)?;
            index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()
                .map(|_: IndexReader| ())?;
            Ok(index)
        });
        match existing {
            Ok(index) if same_schema(&index.schema(), &schema) => return Ok(index),
            Ok(_) => tracing::warn!(dir = %dir.display(), "search index schema changed; recreating it empty"),
            Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "search index unreadable; recreating it empty"),
        }
        wipe(dir)?;
    }
    Ok(Index::create_in_dir(dir, schema)?)
}

fn same_schema(a: &Schema, b: &Schema) -> bool {
    matches!((serde_json::to_value(a), serde_json::to_value(b)), (Ok(x), Ok(y)) if x == y)
}

/// Removes the index files but keeps the directory (it may be a mount point).
fn wipe(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
