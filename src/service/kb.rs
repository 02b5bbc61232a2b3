//! Knowledge-base articles, and what their search learns.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Services;
use crate::domain::ids::ArticleId;
use crate::domain::Actor;
use crate::events::Hint;
use crate::search::{KbHit, KbIndex, Lang, Synonyms, Tuning};
use crate::store::kb::{Article, ArticleInput};
use crate::store::kb_learning::SynonymGroup;
use crate::store::Result;

impl Services {
    pub async fn create_article(&self, actor: &Actor, a: ArticleInput) -> Result<Article> {
        let (article, logged) = self.store.create_article(actor.workspace_id, a, actor.user_id).await?;
        self.logged(&logged, Hint::default());
        Ok(article)
    }

    pub async fn update_article(&self, actor: &Actor, id: ArticleId, a: ArticleInput) -> Result<Article> {
        let (article, logged) = self
            .store
            .update_article(actor.workspace_id, id.get(), a, actor.user_id)
            .await?;
        self.logged(&logged, Hint::default());
        Ok(article)
    }

    pub async fn delete_article(&self, actor: &Actor, id: ArticleId) -> Result<()> {
        let logged = self
            .store
            .delete_article(actor.workspace_id, id.get(), actor.user_id)
            .await?;
        self.logged(&logged, Hint::default());
        Ok(())
    }
}

/// Each workspace's own synonym groups, analysed, per node. Reloaded at
/// most every `SYNONYMS_TTL` (another node's edit shows within it) and at
/// once after an edit made here.
#[derive(Default)]
pub struct SynonymCache {
    by_workspace: Mutex<HashMap<i64, (Instant, Arc<Synonyms>)>>,
}

const SYNONYMS_TTL: Duration = Duration::from_secs(10);

impl SynonymCache {
    fn get(&self, ws: i64) -> Option<Arc<Synonyms>> {
        let map = self.by_workspace.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&ws)
            .filter(|(at, _)| at.elapsed() < SYNONYMS_TTL)
            .map(|(_, s)| s.clone())
    }

    fn put(&self, ws: i64, s: Arc<Synonyms>) {
        let mut map = self.by_workspace.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (at, _)| at.elapsed() < SYNONYMS_TTL);
        }
        map.insert(ws, (Instant::now(), s));
    }

    fn forget(&self, ws: i64) {
        self.by_workspace.lock().unwrap_or_else(|e| e.into_inner()).remove(&ws);
    }
}

impl Services {
    /// A shopper's search: the index, with what this workspace taught it
    /// (its synonyms, and articles opened after this very query).
    pub async fn search_kb(
        &self,
        index: &KbIndex,
        ws: i64,
        query: &str,
        lang: &str,
        limit: usize,
    ) -> anyhow::Result<Vec<KbHit>> {
        let synonyms = match self.kb_synonyms.get(ws) {
            Some(s) => s,
            None => {
                let mut s = Synonyms::default();
                for g in self.store.synonym_groups(ws).await? {
                    if let Some(lang) = Lang::parse(&g.language) {
                        s.add(lang, g.words.split(','));
                    }
                }
                let s = Arc::new(s);
                self.kb_synonyms.put(ws, s.clone());
                s
            }
        };
        let clicks = self
            .store
            .clicks_for(ws, &crate::search::normalize_query(query), crate::store::now_ms())
            .await?;
        let tuning = Tuning {
            synonyms: (!synonyms.is_empty()).then_some(synonyms),
            clicks,
        };
        index.search_tuned(ws, query, lang, limit, &tuning)
    }

    pub async fn add_synonym_group(&self, actor: &Actor, language: &str, words: &[String]) -> Result<SynonymGroup> {
        let words = crate::domain::kb_learning::synonym_group(words)?;
        if Lang::parse(language).is_none() || language.len() != 2 {
            return Err(crate::domain::Invalid::new("language", "en, ru, uk or fa").into());
        }
        let g = self
            .store
            .add_synonym_group(actor.workspace_id, language, &words)
            .await?;
        self.kb_synonyms.forget(actor.workspace_id);
        Ok(g)
    }

    pub async fn delete_synonym_group(&self, actor: &Actor, id: i64) -> Result<()> {
        self.store.delete_synonym_group(actor.workspace_id, id).await?;
        self.kb_synonyms.forget(actor.workspace_id);
        Ok(())
    }

    /// Adds one "other way to ask this" to an article (the search report's
    /// one-click action); a phrasing it already has is not added twice.
    pub async fn add_phrasing(&self, actor: &Actor, id: ArticleId, text: &str) -> Result<Article> {
        let a = self.store.article(actor.workspace_id, id.get()).await?;
        let mut list = a.phrasing_list();
        list.push(text.to_string());
        let list = crate::domain::kb_learning::phrasings(&list)?;
        self.update_article(
            actor,
            id,
            ArticleInput {
                phrasings: Some(list),
                ..Default::default()
            },
        )
        .await
    }
}
