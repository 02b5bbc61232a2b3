-- Knowledge base: categories, articles (a translation group links the same
-- article in several languages), helpfulness votes, and search analytics.
CREATE TABLE kb_categories (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    CONSTRAINT kb_categories_slug_key UNIQUE (workspace_id, language, slug)
);

CREATE TABLE kb_articles (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL,
    category_id INTEGER REFERENCES kb_categories (id) ON DELETE SET NULL,
    language TEXT NOT NULL,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    body_html TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CONSTRAINT kb_articles_status_check CHECK (status IN ('draft', 'published')),
    helpful_yes INTEGER NOT NULL DEFAULT 0,
    helpful_no INTEGER NOT NULL DEFAULT 0,
    views INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT kb_articles_slug_key UNIQUE (workspace_id, language, slug)
);
CREATE INDEX kb_articles_ws_idx ON kb_articles (workspace_id, status, language);
CREATE INDEX kb_articles_group_idx ON kb_articles (group_id);

-- One row per search a visitor made: what, in which language, how many
-- hits, what they opened, whether they contacted us after, and the search
-- before it in the same session (for "searched next" chains).
CREATE TABLE kb_searches (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    session TEXT NOT NULL,
    query TEXT NOT NULL,
    language TEXT NOT NULL,
    hits INTEGER NOT NULL,
    opened_article_id INTEGER,
    contacted INTEGER NOT NULL DEFAULT 0,
    previous_id INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX kb_searches_ws_idx ON kb_searches (workspace_id, created_at);
CREATE INDEX kb_searches_session_idx ON kb_searches (workspace_id, session, id);
