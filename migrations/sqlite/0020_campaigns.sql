-- Proactive campaigns: what the widget may show whom and when, one row per
-- visitor a campaign reached (shown, or held out as the control group),
-- and the events store pages report per visitor (pruned by age).

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    priority INTEGER NOT NULL DEFAULT 0,
    -- The campaign's rules as the API takes them (audience, trigger,
    -- variants, caps, goal), checked by domain::campaign on the way in.
    spec TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX campaigns_name_key ON campaigns (workspace_id, name);

CREATE TABLE campaign_exposures (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    -- A variant's name, or 'holdout' (eligible, shown nothing).
    variant TEXT NOT NULL,
    shown_at INTEGER NOT NULL,
    opened_at INTEGER,
    replied_at INTEGER,
    converted_at INTEGER,
    ticket_id INTEGER
);
CREATE INDEX campaign_exposures_visitor_idx ON campaign_exposures (contact_id, campaign_id, shown_at);
CREATE INDEX campaign_exposures_campaign_idx ON campaign_exposures (campaign_id, variant);

CREATE TABLE visitor_events (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    props TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX visitor_events_visitor_idx ON visitor_events (contact_id, name, created_at);
CREATE INDEX visitor_events_age_idx ON visitor_events (created_at);
