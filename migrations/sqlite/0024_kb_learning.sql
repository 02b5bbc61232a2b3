-- Knowledge-base search that learns: "other ways to ask this" per article
-- (one phrasing per line), a workspace's own synonym groups, and what
-- shoppers opened after a query (click weights in thousandths, decayed on
-- read and on each new click).
ALTER TABLE kb_articles ADD COLUMN phrasings TEXT NOT NULL DEFAULT '';

CREATE TABLE kb_synonyms (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    words TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX kb_synonyms_ws_idx ON kb_synonyms (workspace_id, id);

CREATE TABLE kb_clicks (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    query TEXT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    weight_milli INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT kb_clicks_pkey PRIMARY KEY (workspace_id, query, article_id)
);
CREATE INDEX kb_clicks_article_idx ON kb_clicks (article_id);
