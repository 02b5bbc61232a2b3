-- Site monitors: a workspace's uptime checks (http), certificate and domain
-- expiry (tls, domain) and dates entered by hand (date); one row per check
-- in monitor_checks (pruned after a retention). A node claims a due monitor
-- by moving its next_check_at in one UPDATE, so no check runs twice.

CREATE TABLE monitors (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- http, tls, domain, date.
    kind TEXT NOT NULL CONSTRAINT monitors_kind_check CHECK (kind IN ('http', 'tls', 'domain', 'date')),
    -- What the kind needs, as validated JSON (url, host, port, domain, date, ...).
    spec TEXT NOT NULL,
    interval_s INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    -- unknown, up, down, expiring.
    state TEXT NOT NULL DEFAULT 'unknown',
    -- Failed checks in a row (the second confirms a failure).
    failures INTEGER NOT NULL DEFAULT 0,
    next_check_at INTEGER NOT NULL,
    last_checked_at INTEGER,
    last_error TEXT,
    -- The certificate's notAfter, the domain's expiration, the date entered.
    expires_at INTEGER,
    -- The open incident (a ticket of channel 'monitor'), while there is one.
    incident_ticket_id INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX monitors_ws_idx ON monitors (workspace_id, id);
CREATE INDEX monitors_due_idx ON monitors (active, next_check_at);

CREATE TABLE monitor_checks (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    monitor_id INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    checked_at INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    response_ms INTEGER,
    status INTEGER,
    error TEXT,
    expires_at INTEGER
);
CREATE INDEX monitor_checks_monitor_idx ON monitor_checks (monitor_id, checked_at);
CREATE INDEX monitor_checks_time_idx ON monitor_checks (checked_at);

-- A workspace's public status page (/p/{slug}/status): off until an admin
-- switches it on; names, states and uptime only, targets if allowed.
CREATE TABLE monitor_status_pages (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL DEFAULT 0,
    show_targets INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
