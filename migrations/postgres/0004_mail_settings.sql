-- Per-workspace mail settings: own address, own relay, an IMAP mailbox.
ALTER TABLE workspace_settings ADD COLUMN mail TEXT NOT NULL DEFAULT '{}';
