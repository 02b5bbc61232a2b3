//! Knowledge-base articles.

use super::Services;
use crate::domain::ids::ArticleId;
use crate::domain::Actor;
use crate::events::Hint;
use crate::store::kb::{Article, ArticleInput};
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
