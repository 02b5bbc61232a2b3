-- Sites the widget was loaded on but may not serve (not in the workspace's
-- allowed sites), so the admin sees them and can allow one with a click.
-- Bounded per workspace by the code that writes it.
CREATE TABLE widget_refused_origins (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    origin TEXT NOT NULL,
    refused BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, origin)
);
