-- Routing: agents say whether they take conversations (availability;
-- 'auto' follows an open console, as before agents could choose), how many
-- they take at once (chats, and other tickets; NULL: no limit); teams say
-- how their queue is shared out, and round robin remembers where it was.
ALTER TABLE users ADD COLUMN availability TEXT NOT NULL DEFAULT 'auto' CONSTRAINT users_availability_check CHECK (availability IN ('auto', 'online', 'away', 'offline'));
ALTER TABLE users ADD COLUMN chat_capacity INTEGER NOT NULL DEFAULT 5;
ALTER TABLE users ADD COLUMN ticket_capacity INTEGER;
ALTER TABLE teams ADD COLUMN routing TEXT NOT NULL DEFAULT 'manual' CONSTRAINT teams_routing_check CHECK (routing IN ('manual', 'round_robin', 'least_loaded'));
ALTER TABLE teams ADD COLUMN last_assigned_user_id INTEGER;
CREATE INDEX tickets_team_queue_idx ON tickets (workspace_id, team_id, status, assignee_id);

-- Notifications also tell of assignments; one an agent has not seen within
-- a few minutes is mailed to them (once), unless they turned that off.
ALTER TABLE notifications ADD COLUMN kind TEXT NOT NULL DEFAULT 'mention';
ALTER TABLE notifications ADD COLUMN mailed_at INTEGER;
ALTER TABLE users ADD COLUMN notify_by_mail INTEGER NOT NULL DEFAULT 1;
CREATE INDEX notifications_unmailed_idx ON notifications (created_at) WHERE mailed_at IS NULL AND read_at IS NULL;
