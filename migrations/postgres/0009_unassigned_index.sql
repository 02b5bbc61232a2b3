-- The Unassigned view in activity order. PostgreSQL cannot take the order
-- from an index whose leading column is matched by IS NULL, so it sorted
-- every unassigned open ticket; a partial index has the condition built in.
CREATE INDEX tickets_unassigned_activity_idx ON tickets (workspace_id, status, last_message_at, id) WHERE assignee_id IS NULL;
