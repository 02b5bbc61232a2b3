-- Time and client reports: clients (work type, included monthly minutes,
-- rates), contacts linked to a client, a ticket's estimate (and the
-- client's approval of it) and urgency, agents' time entries, running
-- timers (one per agent per ticket, kept server-side so a reload keeps
-- them), and the subscription warnings already given (once per client per
-- month). Amounts are in minor units (cents) of the client's currency.

CREATE TABLE clients (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    work_type TEXT NOT NULL DEFAULT 'one_off',
    included_minutes INTEGER NOT NULL DEFAULT 0,
    hourly_rate INTEGER NOT NULL DEFAULT 0,
    urgent_rate INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'EUR',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT clients_work_type_check CHECK (work_type IN ('one_off', 'subscription', 'urgent'))
);
CREATE INDEX clients_ws_idx ON clients (workspace_id, id);

ALTER TABLE contacts ADD COLUMN client_id INTEGER REFERENCES clients (id) ON DELETE SET NULL;
CREATE INDEX contacts_client_idx ON contacts (client_id) WHERE client_id IS NOT NULL;

-- estimate_state: NULL (no estimate), 'proposed', 'approved', 'questioned'.
ALTER TABLE tickets ADD COLUMN estimate_minutes INTEGER;
ALTER TABLE tickets ADD COLUMN estimate_state TEXT;
ALTER TABLE tickets ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;

CREATE TABLE time_entries (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    minutes INTEGER NOT NULL,
    billable INTEGER NOT NULL DEFAULT 1,
    note TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT time_entries_minutes_check CHECK (minutes > 0)
);
CREATE INDEX time_entries_ticket_idx ON time_entries (workspace_id, ticket_id, id);
CREATE INDEX time_entries_ws_created_idx ON time_entries (workspace_id, created_at);

CREATE TABLE time_timers (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    started_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);

-- month is 'YYYY-MM' (UTC).
CREATE TABLE client_usage_warnings (
    client_id INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    month TEXT NOT NULL,
    warned_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, month)
);
