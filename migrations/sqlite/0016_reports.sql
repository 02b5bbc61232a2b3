-- Reports: request kinds on tickets, satisfaction surveys (CSAT once per
-- ticket, NPS at most once per N days per contact), and the running totals
-- a consumer of the event log keeps so that reports never scan tickets.

-- question, order_problem, bug, missing_feature, unclear_feature; the
-- feature a missing-feature ticket asks for.
ALTER TABLE tickets ADD COLUMN kind TEXT;
ALTER TABLE tickets ADD COLUMN feature TEXT;
CREATE INDEX tickets_feature_idx ON tickets (workspace_id, feature) WHERE feature IS NOT NULL;

-- Survey settings and the industry whose benchmark the charts show (JSON).
ALTER TABLE workspace_settings ADD COLUMN reports TEXT NOT NULL DEFAULT '{}';

-- One question per ticket (the key makes it once), asked when the ticket is
-- resolved; the answer is linked to the agent who had it.
CREATE TABLE csat_responses (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL,
    agent_id INTEGER,
    asked_at INTEGER NOT NULL,
    asked_via TEXT NOT NULL,
    score INTEGER CONSTRAINT csat_score_check CHECK (score BETWEEN 1 AND 5),
    comment TEXT NOT NULL DEFAULT '',
    answered_at INTEGER,
    answered_via TEXT
);
CREATE INDEX csat_responses_ws_idx ON csat_responses (workspace_id, answered_at);

-- NPS surveys: planned when a contact's ticket is resolved (unless one was
-- planned within the workspace's interval), sent when due.
CREATE TABLE nps_surveys (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    ticket_id INTEGER REFERENCES tickets (id) ON DELETE SET NULL,
    token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    sent_at INTEGER,
    score INTEGER CONSTRAINT nps_score_check CHECK (score BETWEEN 0 AND 10),
    comment TEXT NOT NULL DEFAULT '',
    answered_at INTEGER,
    CONSTRAINT nps_surveys_token_key UNIQUE (token)
);
CREATE INDEX nps_surveys_contact_idx ON nps_surveys (contact_id, created_at);
CREATE INDEX nps_surveys_due_idx ON nps_surveys (due_at) WHERE sent_at IS NULL;

-- Running totals per workspace, day (in the workspace's time zone, days
-- since 1970-01-01) and dimension ('' the whole workspace, agent, team,
-- channel, label, kind; 'hour' holds the weekday×hour heatmap). The
-- *_response and resolution columns are digests (see domain::digest).
CREATE TABLE report_days (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    dim TEXT NOT NULL,
    key TEXT NOT NULL,
    day INTEGER NOT NULL,
    created INTEGER NOT NULL DEFAULT 0,
    resolved INTEGER NOT NULL DEFAULT 0,
    reopened INTEGER NOT NULL DEFAULT 0,
    replies INTEGER NOT NULL DEFAULT 0,
    csat_count INTEGER NOT NULL DEFAULT 0,
    csat_sum INTEGER NOT NULL DEFAULT 0,
    csat_good INTEGER NOT NULL DEFAULT 0,
    nps_count INTEGER NOT NULL DEFAULT 0,
    nps_promoters INTEGER NOT NULL DEFAULT 0,
    nps_detractors INTEGER NOT NULL DEFAULT 0,
    first_response TEXT NOT NULL DEFAULT '',
    first_response_bh TEXT NOT NULL DEFAULT '',
    next_response TEXT NOT NULL DEFAULT '',
    next_response_bh TEXT NOT NULL DEFAULT '',
    resolution TEXT NOT NULL DEFAULT '',
    resolution_bh TEXT NOT NULL DEFAULT '',
    CONSTRAINT report_days_pkey PRIMARY KEY (workspace_id, dim, key, day)
);

-- What the rollups hold of each ticket (JSON, see domain::reports), so a
-- change (a label added, the kind set, a reopen) moves its share exactly.
CREATE TABLE report_tickets (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    state TEXT NOT NULL
);
CREATE INDEX report_tickets_ws_idx ON report_tickets (workspace_id, ticket_id);

-- Seconds each agent was available, per day, sampled by the timers.
CREATE TABLE agent_online (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day INTEGER NOT NULL,
    seconds INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT agent_online_pkey PRIMARY KEY (workspace_id, user_id, day)
);

-- Workspaces whose totals the consumer builds again from the tables (asked
-- by `storedesk reports rebuild`, a time-zone change, and this migration
-- for the tickets already here).
CREATE TABLE report_rebuilds (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    requested_at INTEGER NOT NULL
);
INSERT INTO report_rebuilds (workspace_id, requested_at) SELECT id, 0 FROM workspaces;
