-- Outbound webhooks: subscriptions of a URL to event types, and one row per
-- delivery (an event for a subscription, a rule's call, a replay) that a
-- sender claims with a lease, tries with backoff and logs.

CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- JSON list of event types, or ["*"].
    events TEXT NOT NULL,
    -- Kept as given: signing needs it. Never shown back after creation.
    secret TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    -- Since when every attempt failed (NULL after a success).
    failing_since INTEGER,
    -- Deliveries given up in a row since the last success.
    given_up_streak INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhooks_ws_idx ON webhooks (workspace_id, id);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    -- Deliveries of one ticket go in order (NULL: not about a ticket).
    ticket_id INTEGER,
    -- The event's JSON as the feed shows it (events are pruned; replays are not).
    event TEXT NOT NULL,
    -- 'event' (a subscription), 'rule' (a rule's webhook action) or 'replay'.
    origin TEXT NOT NULL,
    -- pending, delivered, failed (given up).
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until INTEGER NOT NULL DEFAULT 0,
    response_status INTEGER,
    response_excerpt TEXT,
    last_error TEXT,
    last_attempt_at INTEGER,
    delivered_at INTEGER,
    created_at INTEGER NOT NULL
);
-- Once per event and subscription, however often the consumer reads a page.
CREATE UNIQUE INDEX webhook_deliveries_event_key ON webhook_deliveries (webhook_id, event_id) WHERE origin = 'event';
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_ticket_idx ON webhook_deliveries (webhook_id, ticket_id, state, id);
