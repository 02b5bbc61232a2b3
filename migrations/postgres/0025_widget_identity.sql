-- The secret a store signs `storedesk('identify', ...)` with (HMAC-SHA256),
-- per workspace; NULL until an admin makes one.
ALTER TABLE workspace_settings ADD COLUMN identity_secret TEXT;
