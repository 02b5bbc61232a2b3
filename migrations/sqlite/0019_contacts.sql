-- Contacts and merging: notes on a contact, blocking (a blocked contact's
-- messages are stored but filed as spam), merged contacts and tickets kept
-- as pointers to their survivor, and the one-time links that prove a chat
-- visitor owns an address before they are linked to its contact.
-- The merged_into pointers are plain ids, not foreign keys: a survivor may
-- have a higher id than what was merged into it, and a restore inserts in
-- id order.

ALTER TABLE contacts ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN blocked_at INTEGER;
ALTER TABLE contacts ADD COLUMN merged_into INTEGER;

ALTER TABLE tickets ADD COLUMN spam INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN merged_into INTEGER;
CREATE INDEX tickets_ws_spam_idx ON tickets (workspace_id, id) WHERE spam = 1;

-- A visitor said an address that belongs to another contact: the link sent
-- there (its token hashed) links them once opened, once, before it expires.
CREATE TABLE contact_email_proofs (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    visitor_contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    owner_contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    lang TEXT NOT NULL DEFAULT 'en'
);
CREATE INDEX contact_email_proofs_visitor_idx ON contact_email_proofs (workspace_id, visitor_contact_id);
