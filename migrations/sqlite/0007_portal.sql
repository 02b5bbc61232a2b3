-- Customer portal: one-time sign-in links and the sessions they open,
-- both kept only as hashes.
CREATE TABLE portal_tokens (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    kind TEXT NOT NULL CONSTRAINT portal_tokens_kind_check CHECK (kind IN ('login', 'session')),
    token_hash TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    created_at INTEGER NOT NULL,
    CONSTRAINT portal_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX portal_tokens_email_idx ON portal_tokens (workspace_id, email, created_at);
