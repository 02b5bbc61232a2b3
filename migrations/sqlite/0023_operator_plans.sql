-- A hosted installation: operators above workspaces, plans that switch
-- features per workspace, and suspension. A workspace without a plan has
-- every feature and no limit (existing installs keep working as they were).

CREATE TABLE operators (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT operators_email_key UNIQUE (email)
);

-- Operator API tokens, kept only as their SHA-256 (as agents' tokens).
CREATE TABLE operator_tokens (
    id INTEGER PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    CONSTRAINT operator_tokens_hash_key UNIQUE (token_hash)
);

-- features: a JSON array of feature names; max_agents and storage_bytes:
-- NULL for no limit.
CREATE TABLE plans (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    features TEXT NOT NULL DEFAULT '[]',
    max_agents INTEGER,
    storage_bytes INTEGER,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT plans_name_key UNIQUE (name)
);

-- A plain id, not a foreign key: a restore inserts workspaces before plans,
-- and deleting a plan that is in use is refused by the service.
ALTER TABLE workspaces ADD COLUMN plan_id INTEGER;
ALTER TABLE workspaces ADD COLUMN suspended_at INTEGER;
