-- Automation: rules run on changes from the event log and on timers;
-- macros are actions an agent applies by hand; SLA policies set the
-- targets whose clocks ticket_sla keeps; calendars say when the team works.
-- Conditions, actions and calendars are JSON the code validates.
CREATE TABLE rules (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    event TEXT NOT NULL,
    minutes INTEGER,
    business_hours INTEGER NOT NULL DEFAULT 0,
    conditions TEXT NOT NULL,
    actions TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    stop INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX rules_ws_idx ON rules (workspace_id, position, id);

-- What a rule did to a ticket, once per trigger: the anchor is the event's
-- id for a change, the moment the timer started from for a time-based rule.
-- However often a trigger is read (a restart, two nodes), its actions run
-- once; the rows also count runs for the per-ticket hourly cap.
CREATE TABLE rule_runs (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    rule_id INTEGER NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    anchor INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT rule_runs_pkey PRIMARY KEY (rule_id, ticket_id, anchor)
);
CREATE INDEX rule_runs_ticket_idx ON rule_runs (ticket_id, created_at);

CREATE TABLE macros (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    actions TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT macros_name_key UNIQUE (workspace_id, name)
);

-- The workspace's calendar (team_id 0) and teams' own.
CREATE TABLE calendars (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL,
    definition TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT calendars_pkey PRIMARY KEY (workspace_id, team_id)
);

CREATE TABLE sla_policies (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    conditions TEXT NOT NULL,
    first_response_minutes INTEGER,
    next_response_minutes INTEGER,
    resolution_minutes INTEGER,
    business_hours INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT sla_policies_name_key UNIQUE (workspace_id, name)
);

-- A ticket's clocks, kept by the SLA consumer of the event log: due times
-- of the targets still open, when it went pending (the clock stops), what
-- was breached and warned, and the next moment the timers must look.
CREATE TABLE ticket_sla (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    policy_id INTEGER REFERENCES sla_policies (id) ON DELETE SET NULL,
    first_response_due_at INTEGER,
    next_response_due_at INTEGER,
    resolution_due_at INTEGER,
    paused_at INTEGER,
    breached TEXT NOT NULL DEFAULT '',
    warned TEXT NOT NULL DEFAULT '',
    next_check_at INTEGER,
    version INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ticket_sla_check_idx ON ticket_sla (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX ticket_sla_paused_idx ON ticket_sla (workspace_id, paused_at) WHERE paused_at IS NOT NULL;
