-- Live chat: visitors, attachments, read marks, widget settings, presence,
-- and the outbox that carries e-mail follow-ups.
CREATE TABLE chat_visitors (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    lang TEXT NOT NULL DEFAULT 'en',
    page_url TEXT NOT NULL DEFAULT '',
    page_title TEXT NOT NULL DEFAULT '',
    context TEXT NOT NULL DEFAULT '{}',
    user_agent TEXT NOT NULL DEFAULT '',
    online INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    CONSTRAINT chat_visitors_token_key UNIQUE (token_hash)
);
CREATE INDEX chat_visitors_contact_idx ON chat_visitors (contact_id);

ALTER TABLE tickets ADD COLUMN visitor_read_up_to INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN agent_read_up_to INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tickets_contact_channel_idx ON tickets (contact_id, channel, id);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    contact_id INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    secret TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX attachments_message_idx ON attachments (message_id);

CREATE TABLE workspace_settings (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    widget TEXT NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL
);

CREATE TABLE agent_presence (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX agent_presence_ws_idx ON agent_presence (workspace_id, last_seen_at);

-- Mail waiting to be sent. Written in the same transaction as the event
-- that causes it; a sender task delivers and records the outcome.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    ticket_id INTEGER REFERENCES tickets (id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX outbox_pending_idx ON outbox (status, next_attempt_at);
