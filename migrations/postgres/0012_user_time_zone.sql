-- The agent's time zone (an IANA name such as Europe/Kyiv) for the times
-- the console shows; empty: the browser's own.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
