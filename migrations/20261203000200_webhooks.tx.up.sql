-- Webhooks: integrators' endpoints and their signing secrets, the events RD
-- emits, one delivery per event x endpoint, and one row per HTTP attempt.
-- Delivery itself runs as Temporal workflows (webhook-{delivery id}); these
-- tables are the source of truth those workflows read and write.

CREATE TABLE webhook_endpoints (
    id              uuid        NOT NULL,
    integrator      text        NOT NULL,
    url             text        NOT NULL,
    description     text        NOT NULL DEFAULT '',
    event_types     text[]      NOT NULL,
    status          text        NOT NULL DEFAULT 'active',
    disabled_reason text,
    disabled_at     timestamptz,
    max_in_flight   integer     NOT NULL DEFAULT 4,
    failing_since   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,

    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_endpoints_integrator_check CHECK (integrator <> ''),
    CONSTRAINT webhook_endpoints_url_check CHECK (url ~ '^https?://' AND char_length(url) <= 2048),
    CONSTRAINT webhook_endpoints_description_check CHECK (char_length(description) <= 1024),
    -- The six events integrators subscribe to; test events are sent to the
    -- endpoint under test whatever it subscribes to.
    CONSTRAINT webhook_endpoints_event_types_check CHECK (
        cardinality(event_types) > 0
        AND event_types <@ ARRAY['URL_UPDATED', 'DATA_RESULT', 'CREDENTIAL_UPDATED', 'COOKIE_UPDATED',
                                 'RESPONSE_SUBMISSION', 'PUBLISHER_DISCONNECTED']::text[]
    ),
    CONSTRAINT webhook_endpoints_status_check CHECK (status IN ('active', 'disabled')),
    CONSTRAINT webhook_endpoints_disabled_reason_check CHECK (
        (status = 'active' AND disabled_reason IS NULL AND disabled_at IS NULL)
        OR (status = 'disabled' AND disabled_reason IN ('gone', 'failing', 'manual') AND disabled_at IS NOT NULL)
    ),
    CONSTRAINT webhook_endpoints_max_in_flight_check CHECK (max_in_flight BETWEEN 1 AND 64)
);

-- Integrators list their live endpoints; fan-out reads the owner's live
-- endpoints for every event.
CREATE INDEX webhook_endpoints_integrator_idx ON webhook_endpoints (integrator) WHERE deleted_at IS NULL;

COMMENT ON TABLE webhook_endpoints IS
    'Integrators'' webhook receivers. Soft-deleted; a disabled endpoint records deliveries but starts none.';
COMMENT ON COLUMN webhook_endpoints.integrator IS 'Owner: the integrator of the API key that created it.';
COMMENT ON COLUMN webhook_endpoints.event_types IS 'Subscribed event types.';
COMMENT ON COLUMN webhook_endpoints.disabled_reason IS 'gone (answered 410), failing (5 days of failures only) or manual.';
COMMENT ON COLUMN webhook_endpoints.max_in_flight IS 'Most deliveries sent to this endpoint at once; the rest wait in order.';
COMMENT ON COLUMN webhook_endpoints.failing_since IS 'First failed attempt since the last success; NULL while healthy.';

CREATE TABLE webhook_endpoint_secrets (
    id                uuid        NOT NULL,
    endpoint_id       uuid        NOT NULL,
    secret_ciphertext text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz,

    CONSTRAINT webhook_endpoint_secrets_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_endpoint_secrets_endpoint_id_fkey FOREIGN KEY (endpoint_id)
        REFERENCES webhook_endpoints (id),
    CONSTRAINT webhook_endpoint_secrets_secret_ciphertext_check CHECK (secret_ciphertext <> '')
);

CREATE INDEX webhook_endpoint_secrets_endpoint_id_idx ON webhook_endpoint_secrets (endpoint_id, created_at);

COMMENT ON TABLE webhook_endpoint_secrets IS
    'Signing secrets, Fernet-encrypted (SECRETS_KEYS). Every unexpired secret signs; the newest also signs X-RD-Signature.';
COMMENT ON COLUMN webhook_endpoint_secrets.expires_at IS 'When the secret stops signing (24 h after a rotation); NULL while current.';

CREATE TABLE webhook_events (
    id         uuid        NOT NULL,
    integrator text        NOT NULL,
    type       text        NOT NULL,
    subject_id text        NOT NULL,
    request_id text        NOT NULL,
    payload    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT webhook_events_pkey PRIMARY KEY (id),
    -- Emitting is idempotent: the same event about the same subject is
    -- stored (and delivered) once, however often a workflow retries.
    CONSTRAINT webhook_events_subject_key UNIQUE (integrator, type, subject_id),
    CONSTRAINT webhook_events_integrator_check CHECK (integrator <> ''),
    CONSTRAINT webhook_events_type_check CHECK (type IN ('URL_UPDATED', 'DATA_RESULT', 'CREDENTIAL_UPDATED',
        'COOKIE_UPDATED', 'RESPONSE_SUBMISSION', 'PUBLISHER_DISCONNECTED', 'WEBHOOK_TEST')),
    CONSTRAINT webhook_events_subject_id_check CHECK (subject_id <> '' AND char_length(subject_id) <= 255),
    CONSTRAINT webhook_events_request_id_check CHECK (request_id <> '' AND char_length(request_id) <= 255)
);

COMMENT ON TABLE webhook_events IS 'Every event RD emitted, with the payload each delivery sends as "data".';
COMMENT ON COLUMN webhook_events.subject_id IS 'What the event is about (a task_id, …); unique per integrator and type.';
COMMENT ON COLUMN webhook_events.request_id IS 'The inbound request the event traces back to.';

CREATE TABLE webhook_deliveries (
    id               uuid        NOT NULL,
    event_id         uuid        NOT NULL,
    endpoint_id      uuid        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending',
    generation       integer     NOT NULL DEFAULT 1,
    attempt_count    integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    queued_at        timestamptz,
    queue_seen_at    timestamptz,
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,

    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_event_endpoint_key UNIQUE (event_id, endpoint_id),
    CONSTRAINT webhook_deliveries_event_id_fkey FOREIGN KEY (event_id) REFERENCES webhook_events (id),
    CONSTRAINT webhook_deliveries_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id),
    CONSTRAINT webhook_deliveries_status_check CHECK (
        status IN ('pending', 'delivering', 'succeeded', 'dead_lettered', 'cancelled')),
    CONSTRAINT webhook_deliveries_generation_check CHECK (generation >= 1),
    CONSTRAINT webhook_deliveries_attempt_count_check CHECK (attempt_count >= 0),
    -- Only a delivery that holds a send slot has a lease.
    CONSTRAINT webhook_deliveries_lease_check CHECK ((status = 'delivering') = (lease_expires_at IS NOT NULL))
);

-- Metering counts an endpoint's leases and orders its waiting deliveries.
CREATE INDEX webhook_deliveries_leases_idx ON webhook_deliveries (endpoint_id, lease_expires_at)
    WHERE status = 'delivering';
CREATE INDEX webhook_deliveries_queue_idx ON webhook_deliveries (endpoint_id, queued_at, id)
    WHERE status = 'pending' AND queued_at IS NOT NULL;
-- Operators list an endpoint's deliveries by status and time (recover, listing).
CREATE INDEX webhook_deliveries_endpoint_status_idx ON webhook_deliveries (endpoint_id, status, created_at);
-- Listing all deliveries newest first, optionally by status.
CREATE INDEX webhook_deliveries_status_created_at_idx ON webhook_deliveries (status, created_at);

COMMENT ON TABLE webhook_deliveries IS
    'One event x one endpoint, delivered by workflow webhook-{id}. id is the delivery_root_id; webhook-id is msg_{id}.';
COMMENT ON COLUMN webhook_deliveries.generation IS 'Run of the 8-attempt schedule: 1, plus one per replay. Stale runs find a newer generation and stop.';
COMMENT ON COLUMN webhook_deliveries.attempt_count IS 'Attempts over all generations.';
COMMENT ON COLUMN webhook_deliveries.queued_at IS 'When the delivery started waiting for a send slot; the endpoint''s queue order.';
COMMENT ON COLUMN webhook_deliveries.queue_seen_at IS 'Last time the waiting workflow asked for a slot; stale waiters do not block the queue.';
COMMENT ON COLUMN webhook_deliveries.lease_expires_at IS 'While delivering: when the send slot frees itself if the worker is lost.';

CREATE TABLE webhook_attempts (
    id               uuid        NOT NULL,
    delivery_root_id uuid        NOT NULL,
    generation       integer     NOT NULL,
    seq              integer     NOT NULL,
    claimed_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    duration_ms      integer,
    status_code      integer,
    response_body    text,
    error            text,

    CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id),
    -- The slot claim that creates an attempt is retried by Temporal; this
    -- key makes the retry find the attempt instead of adding another.
    CONSTRAINT webhook_attempts_seq_key UNIQUE (delivery_root_id, generation, seq),
    CONSTRAINT webhook_attempts_delivery_root_id_fkey FOREIGN KEY (delivery_root_id)
        REFERENCES webhook_deliveries (id),
    CONSTRAINT webhook_attempts_seq_check CHECK (seq >= 1),
    CONSTRAINT webhook_attempts_response_body_check CHECK (octet_length(response_body) <= 20480)
);

COMMENT ON TABLE webhook_attempts IS
    'One HTTP attempt of a delivery. id is the attempt''s delivery_id (X-RD-Delivery-Id), fresh every time.';
COMMENT ON COLUMN webhook_attempts.seq IS 'Attempt number within its generation, 1 to 8.';
COMMENT ON COLUMN webhook_attempts.started_at IS 'When the request was sent; NULL if the attempt never got that far.';
COMMENT ON COLUMN webhook_attempts.response_body IS 'The first 20 KB of the response body, as UTF-8 text.';
COMMENT ON COLUMN webhook_attempts.error IS 'Why the attempt failed without a response (timeout, refused address, lost worker).';
