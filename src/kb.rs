//! Glue between the stored knowledge base and the search index.

use crate::search::KbDoc;
use crate::store::kb::Article;

/// What the index holds of an article: plain text, tags, its public address.
pub fn doc_of(a: &Article, workspace_slug: &str) -> KbDoc {
    KbDoc {
        id: a.id,
        workspace_id: a.workspace_id,
        language: a.language.clone(),
        title: a.title.clone(),
        body: crate::markdown::to_text(&a.body),
        tags: a
            .tags
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        phrasings: a.phrasing_list(),
        url: format!("/p/{workspace_slug}/kb/{}/{}", a.language, a.slug),
    }
}
