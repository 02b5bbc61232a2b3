-- The event log: every change that matters to someone else, written in the
-- transaction of the change. SQLite has one writer at a time, so the
-- autoincremented id is already in commit order (PostgreSQL takes its ids
-- from event_clock instead; the table is kept here too so both schemas
-- have the same tables).
CREATE TABLE event_clock (
    id INTEGER PRIMARY KEY CONSTRAINT event_clock_one_row CHECK (id = 1),
    last_id INTEGER NOT NULL
);
INSERT INTO event_clock (id, last_id) VALUES (1, 0);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    ticket_id INTEGER,
    message_id INTEGER,
    contact_id INTEGER,
    article_id INTEGER,
    actor_type TEXT NOT NULL CONSTRAINT events_actor_type_check CHECK (actor_type IN ('agent', 'contact', 'system', 'rule')),
    actor_id INTEGER,
    changes TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_workspace_idx ON events (workspace_id, id);

CREATE TABLE event_consumers (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    owner TEXT,
    lease_until INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE UNIQUE INDEX outbox_message_kind_key ON outbox (message_id, kind) WHERE message_id IS NOT NULL;
