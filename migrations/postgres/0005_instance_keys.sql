-- Secrets of the installation, shared by all its nodes: e.g. the key that
-- signs private ticket links (so no link is stored anywhere).
CREATE TABLE instance_keys (
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    CONSTRAINT instance_keys_pkey PRIMARY KEY (name)
);
