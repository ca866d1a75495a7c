-- Foundation: the cross-cutting tables every integrator request touches.
-- Enumerations are text with CHECK constraints rather than PostgreSQL enum
-- types: adding a value is then one transactional ALTER of a constraint.

-- api_keys comes first: inbound_request references it.
CREATE TABLE api_keys (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    prefix          text        NOT NULL,
    key_hash        bytea       NOT NULL,
    name            text        NOT NULL,
    integrator      text        NOT NULL,
    environment     text        NOT NULL,
    scrape_priority integer     NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,

    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    -- Unique over revoked keys too: a prefix, once issued, never maps to
    -- another hash.
    CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
    CONSTRAINT api_keys_prefix_check CHECK (prefix <> '' AND char_length(prefix) <= 64),
    CONSTRAINT api_keys_key_hash_check CHECK (octet_length(key_hash) = 32),
    CONSTRAINT api_keys_name_check CHECK (name <> ''),
    CONSTRAINT api_keys_integrator_check CHECK (integrator <> ''),
    CONSTRAINT api_keys_environment_check CHECK (environment IN ('production', 'test')),
    CONSTRAINT api_keys_scrape_priority_check CHECK (
        (environment = 'production' AND scrape_priority = 100)
        OR (environment = 'test' AND scrape_priority = 1000)
    )
);

-- Authentication looks keys up by prefix on every request, and only active
-- keys may authenticate. This index holds just those, so it stays small and
-- hot however many revoked keys pile up.
CREATE INDEX api_keys_active_prefix_idx ON api_keys (prefix) WHERE revoked_at IS NULL;
-- Admin screens list an integrator's keys.
CREATE INDEX api_keys_integrator_idx ON api_keys (integrator);

COMMENT ON TABLE api_keys IS
    'Integrator API keys. The secret is never stored: only its public prefix and the SHA-256 of the whole key.';
COMMENT ON COLUMN api_keys.prefix IS 'Public leading part of the key, used to find the row.';
COMMENT ON COLUMN api_keys.key_hash IS 'SHA-256 of the full key (32 bytes), compared in constant time.';
COMMENT ON COLUMN api_keys.integrator IS 'The platform the key belongs to.';
COMMENT ON COLUMN api_keys.environment IS 'production or test; fixes scrape_priority.';
COMMENT ON COLUMN api_keys.scrape_priority IS 'Admission priority of the key''s scrapes, lower is sooner: production 100, test 1000.';
COMMENT ON COLUMN api_keys.revoked_at IS 'When the key stopped authenticating; NULL while active.';

CREATE TABLE inbound_request (
    request_id  text        NOT NULL,
    endpoint    text        NOT NULL,
    api_key_id  uuid,
    integrator  text,
    payload     jsonb       NOT NULL,
    remote_addr text,
    received_at timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT inbound_request_pkey PRIMARY KEY (request_id),
    -- The archive outlives keys: deleting a key keeps its requests, still
    -- attributed through the integrator column.
    CONSTRAINT inbound_request_api_key_id_fkey FOREIGN KEY (api_key_id)
        REFERENCES api_keys (id) ON DELETE SET NULL,
    CONSTRAINT inbound_request_request_id_check CHECK (request_id <> '' AND char_length(request_id) <= 255),
    CONSTRAINT inbound_request_endpoint_check CHECK (endpoint <> '')
);

-- Archival sweeps and "what arrived when" queries scan by time.
CREATE INDEX inbound_request_received_at_idx ON inbound_request (received_at);
-- One key's traffic, newest first; also serves the foreign key's ON DELETE.
CREATE INDEX inbound_request_api_key_id_received_at_idx ON inbound_request (api_key_id, received_at)
    WHERE api_key_id IS NOT NULL;

COMMENT ON TABLE inbound_request IS
    'Archive of every integrator request, keyed by request_id, written before any job is created.';
COMMENT ON COLUMN inbound_request.request_id IS 'Correlation ID: RD''s own or a client-supplied token, hence text.';
COMMENT ON COLUMN inbound_request.endpoint IS 'The operation called, like POST /request-reviews.';
COMMENT ON COLUMN inbound_request.api_key_id IS 'The key that authenticated the request; NULL when none did.';
COMMENT ON COLUMN inbound_request.payload IS 'Request body with secrets redacted by the API before insert.';
COMMENT ON COLUMN inbound_request.remote_addr IS 'Client address as the API saw it.';

CREATE TABLE publisher_configuration (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    publisher_key  text        NOT NULL,
    display_name   text        NOT NULL,
    scraper_engine text        NOT NULL,
    posting_mode   text        NOT NULL DEFAULT 'DISABLED',
    auth_type      text        NOT NULL,
    browser_backed boolean     NOT NULL DEFAULT false,
    task_queue     text        NOT NULL,
    active         boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    deleted_by     uuid,

    CONSTRAINT publisher_configuration_pkey PRIMARY KEY (id),
    -- The key becomes part of task queue names and search attributes.
    CONSTRAINT publisher_configuration_publisher_key_check CHECK (publisher_key ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    CONSTRAINT publisher_configuration_display_name_check CHECK (display_name <> ''),
    CONSTRAINT publisher_configuration_scraper_engine_check CHECK (scraper_engine IN ('SAU', 'LDE')),
    CONSTRAINT publisher_configuration_posting_mode_check CHECK (posting_mode IN ('AUTOMATED', 'MANUAL_QA', 'DISABLED')),
    CONSTRAINT publisher_configuration_auth_type_check CHECK (auth_type IN ('OAUTH', 'CREDENTIALS', 'COOKIES')),
    CONSTRAINT publisher_configuration_task_queue_check CHECK (task_queue <> ''),
    CONSTRAINT publisher_configuration_deleted_by_check CHECK (deleted_by IS NULL OR deleted_at IS NOT NULL)
);

-- One live row per publisher_key; soft-deleted rows keep their history and
-- free the key for a new row. The table holds a few hundred rows at most, so
-- it needs no other index.
CREATE UNIQUE INDEX publisher_configuration_publisher_key_live_idx ON publisher_configuration (publisher_key)
    WHERE deleted_at IS NULL;

COMMENT ON TABLE publisher_configuration IS
    'Routing brain per publisher_key: scraper engine, posting mode, auth type, task queue. Soft-deleted.';
COMMENT ON COLUMN publisher_configuration.scraper_engine IS 'SAU (internal scraper) or LDE (external).';
COMMENT ON COLUMN publisher_configuration.posting_mode IS 'AUTOMATED, MANUAL_QA (a QA operator posts) or DISABLED.';
COMMENT ON COLUMN publisher_configuration.auth_type IS 'OAUTH, CREDENTIALS or COOKIES.';
COMMENT ON COLUMN publisher_configuration.browser_backed IS 'Work needs a browser and counts against the global browser cap.';
COMMENT ON COLUMN publisher_configuration.task_queue IS 'Temporal task queue of the publisher''s scrape workflows.';
COMMENT ON COLUMN publisher_configuration.active IS 'Whether new work is accepted for the publisher.';
COMMENT ON COLUMN publisher_configuration.deleted_at IS 'Soft-delete time; NULL while live.';
COMMENT ON COLUMN publisher_configuration.deleted_by IS 'User who deleted the row (users arrive in a later migration, hence no foreign key yet).';
