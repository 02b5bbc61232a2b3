-- When each running target's clock started (its warning comes at 80% of
-- its time), and the earliest due time still running, for the inbox's
-- "SLA due first" order.
ALTER TABLE ticket_sla ADD COLUMN first_response_started_at INTEGER;
ALTER TABLE ticket_sla ADD COLUMN next_response_started_at INTEGER;
ALTER TABLE ticket_sla ADD COLUMN resolution_started_at INTEGER;
ALTER TABLE ticket_sla ADD COLUMN due_at INTEGER;
CREATE INDEX ticket_sla_due_idx ON ticket_sla (workspace_id, due_at) WHERE due_at IS NOT NULL;

-- A time-based rule whose conditions did not hold when its time came is
-- recorded too (matched 0), so it is not looked at again for that start;
-- only matched runs count for the hourly cap.
ALTER TABLE rule_runs ADD COLUMN matched INTEGER NOT NULL DEFAULT 1;
