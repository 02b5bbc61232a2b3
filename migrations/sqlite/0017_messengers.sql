-- Messenger channels: a workspace's Telegram bot and its generic gateway
-- connections (WhatsApp, Viber and others through a provider), and the
-- durable queue of agents' replies going out through them.
CREATE TABLE messenger_connections (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CONSTRAINT messenger_connections_kind_check CHECK (kind IN ('telegram', 'messenger')),
    name TEXT NOT NULL DEFAULT '',
    -- Telegram: the bot's token (needed to call the Bot API, so kept as is
    -- and never shown back), the Bot API it was connected against, its mode.
    bot_token TEXT,
    bot_username TEXT,
    api_url TEXT,
    mode TEXT CONSTRAINT messenger_connections_mode_check CHECK (mode IS NULL OR mode IN ('polling', 'webhook')),
    -- Telegram's webhook secret token, or the gateway's HMAC key.
    secret TEXT NOT NULL,
    outbound_url TEXT,
    -- getUpdates' next offset, saved after the updates before it are filed.
    poll_offset INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'active',
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX messenger_connections_ws_idx ON messenger_connections (workspace_id, id);
CREATE UNIQUE INDEX messenger_connections_one_bot_idx ON messenger_connections (workspace_id) WHERE kind = 'telegram';

CREATE TABLE messenger_deliveries (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    connection_id INTEGER NOT NULL REFERENCES messenger_connections (id) ON DELETE CASCADE,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL CONSTRAINT messenger_deliveries_status_check CHECK (status IN ('pending', 'sent', 'failed')),
    -- Parts (text, then each file) already accepted, so a retry resends none.
    parts_sent INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    sent_at INTEGER,
    created_at INTEGER NOT NULL,
    CONSTRAINT messenger_deliveries_message_key UNIQUE (message_id)
);
CREATE INDEX messenger_deliveries_due_idx ON messenger_deliveries (status, next_attempt_at);
CREATE INDEX messenger_deliveries_ticket_idx ON messenger_deliveries (ticket_id, id);
