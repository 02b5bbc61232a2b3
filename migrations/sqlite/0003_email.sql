-- E-mail: reply tokens, known Message-IDs for threading, raw mail kept,
-- bounced addresses, and the headers an outgoing mail needs.
ALTER TABLE tickets ADD COLUMN reply_token TEXT;
CREATE UNIQUE INDEX tickets_reply_token_idx ON tickets (reply_token);

-- Every Message-ID we have seen or sent, and the ticket it belongs to.
CREATE TABLE mail_threads (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    header_id TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    CONSTRAINT mail_threads_pkey PRIMARY KEY (workspace_id, header_id)
);

-- Inbound mail as received, for audit and re-parsing.
CREATE TABLE raw_emails (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    header_id TEXT NOT NULL,
    mail_from TEXT NOT NULL,
    rcpt_to TEXT NOT NULL,
    outcome TEXT NOT NULL,
    ticket_id INTEGER REFERENCES tickets (id) ON DELETE SET NULL,
    raw BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT raw_emails_header_key UNIQUE (workspace_id, header_id)
);

CREATE TABLE email_bounces (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT email_bounces_pkey PRIMARY KEY (workspace_id, address)
);

ALTER TABLE outbox ADD COLUMN header_id TEXT;
ALTER TABLE outbox ADD COLUMN in_reply_to TEXT;
ALTER TABLE outbox ADD COLUMN reply_to TEXT;
ALTER TABLE outbox ADD COLUMN html TEXT;
