-- The event log: every change that matters to someone else, written in the
-- transaction of the change. Ids come from event_clock, whose one row each
-- writing transaction updates as its last statement: the row lock is held
-- until commit, so ids are handed out in commit order and without gaps,
-- and a reader that has seen id N will never later find a smaller one.
CREATE TABLE event_clock (
    id INTEGER PRIMARY KEY CONSTRAINT event_clock_one_row CHECK (id = 1),
    last_id BIGINT NOT NULL
);
INSERT INTO event_clock (id, last_id) VALUES (1, 0);

CREATE TABLE events (
    id BIGINT PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    ticket_id BIGINT,
    message_id BIGINT,
    contact_id BIGINT,
    article_id BIGINT,
    actor_type TEXT NOT NULL CONSTRAINT events_actor_type_check CHECK (actor_type IN ('agent', 'contact', 'system', 'rule')),
    actor_id BIGINT,
    changes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_workspace_idx ON events (workspace_id, id);

-- Where each consumer of the log stands. A cluster consumer (rules,
-- webhooks, the outbox feeder) is run by the node holding its lease; a node
-- consumer (the realtime fan-out of one node) is named after its node.
CREATE TABLE event_consumers (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    owner TEXT,
    lease_until BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One mail per message and kind: the outbox feeder may see an event twice.
CREATE UNIQUE INDEX outbox_message_kind_key ON outbox (message_id, kind) WHERE message_id IS NOT NULL;
