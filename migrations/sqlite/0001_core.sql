-- Core model: workspaces, people, contacts, tickets, messages, audit.
-- Times are Unix milliseconds (UTC) so both backends store them alike.
CREATE TABLE workspaces (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    next_ticket_number INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    CONSTRAINT workspaces_slug_key UNIQUE (slug)
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CONSTRAINT users_role_check CHECK (role IN ('admin', 'agent')),
    ticket_scope TEXT NOT NULL DEFAULT 'all' CONSTRAINT users_scope_check CHECK (ticket_scope IN ('all', 'teams')),
    password_hash TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    CONSTRAINT users_workspace_email_key UNIQUE (workspace_id, email)
);
CREATE INDEX users_email_idx ON users (email);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    CONSTRAINT api_tokens_hash_key UNIQUE (token_hash)
);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT teams_workspace_name_key UNIQUE (workspace_id, name)
);

CREATE TABLE team_members (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT team_members_pkey PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    email TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX contacts_workspace_idx ON contacts (workspace_id, id);

-- One row for each way a contact reached us: an e-mail address, a chat
-- visitor id, a Telegram chat. Merging contacts moves identities.
CREATE TABLE contact_identities (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT contact_identities_value_key UNIQUE (workspace_id, channel, value)
);
CREATE INDEX contact_identities_contact_idx ON contact_identities (contact_id);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CONSTRAINT tickets_status_check CHECK (status IN ('open', 'pending', 'resolved', 'closed')),
    priority TEXT NOT NULL CONSTRAINT tickets_priority_check CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    channel TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    assignee_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    team_id INTEGER REFERENCES teams (id) ON DELETE SET NULL,
    external_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_message_at INTEGER NOT NULL,
    first_response_at INTEGER,
    resolved_at INTEGER,
    CONSTRAINT tickets_number_key UNIQUE (workspace_id, number),
    CONSTRAINT tickets_external_key UNIQUE (workspace_id, external_id)
);
CREATE INDEX tickets_ws_id_idx ON tickets (workspace_id, id);
CREATE INDEX tickets_ws_status_idx ON tickets (workspace_id, status, id);
CREATE INDEX tickets_ws_assignee_idx ON tickets (workspace_id, assignee_id, id);
CREATE INDEX tickets_ws_activity_idx ON tickets (workspace_id, last_message_at, id);
CREATE INDEX tickets_contact_idx ON tickets (contact_id);

CREATE TABLE ticket_labels (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    CONSTRAINT ticket_labels_pkey PRIMARY KEY (ticket_id, label)
);
CREATE INDEX ticket_labels_ws_label_idx ON ticket_labels (workspace_id, label);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CONSTRAINT messages_kind_check CHECK (kind IN ('reply', 'note', 'event')),
    author_type TEXT NOT NULL CONSTRAINT messages_author_check CHECK (author_type IN ('agent', 'contact', 'system')),
    author_id INTEGER,
    body TEXT NOT NULL,
    html TEXT,
    external_id TEXT,
    created_at INTEGER NOT NULL,
    CONSTRAINT messages_external_key UNIQUE (workspace_id, external_id)
);
CREATE INDEX messages_ticket_idx ON messages (ticket_id, id);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    actor_type TEXT NOT NULL,
    actor_id INTEGER,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id INTEGER,
    data TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_events_ws_idx ON audit_events (workspace_id, id);
