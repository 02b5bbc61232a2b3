-- Agent console: sign-in sessions, invitations, canned answers, the label
-- catalogue, mention notifications, snoozing and the inbox's orderings.
CREATE TABLE agent_sessions (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CONSTRAINT agent_sessions_hash_key UNIQUE (token_hash)
);
CREATE INDEX agent_sessions_user_idx ON agent_sessions (user_id);

ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';

CREATE TABLE invites (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    teams_only INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    CONSTRAINT invites_hash_key UNIQUE (token_hash)
);
CREATE INDEX invites_ws_idx ON invites (workspace_id, id);

CREATE TABLE canned_answers (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    shortcut TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT canned_answers_shortcut_key UNIQUE (workspace_id, shortcut)
);

CREATE TABLE labels (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    color TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT labels_name_key UNIQUE (workspace_id, name)
);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    author_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id);

-- A snoozed ticket waits as pending until the time comes, then reopens.
ALTER TABLE tickets ADD COLUMN snoozed_until INTEGER;
CREATE INDEX tickets_snoozed_idx ON tickets (snoozed_until) WHERE snoozed_until IS NOT NULL;

-- Since when the customer has waited for our answer; none once answered.
ALTER TABLE tickets ADD COLUMN waiting_since INTEGER;
UPDATE tickets SET waiting_since = last_message_at WHERE status = 'open' AND first_response_at IS NULL;

-- Each inbox view reads one of these in order, so a page costs the same
-- with a thousand tickets or a million.
CREATE INDEX tickets_ws_status_activity_idx ON tickets (workspace_id, status, last_message_at, id);
CREATE INDEX tickets_ws_status_waiting_idx ON tickets (workspace_id, status, waiting_since, id);
CREATE INDEX tickets_ws_assignee_status_idx ON tickets (workspace_id, assignee_id, status, last_message_at, id);
CREATE INDEX tickets_ws_team_status_idx ON tickets (workspace_id, team_id, status, last_message_at, id);
