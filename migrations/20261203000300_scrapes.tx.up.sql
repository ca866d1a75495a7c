-- Scrapes: the integrator's locations and their publisher sites, the scrape
-- jobs that admission meters into Temporal, the review batches they write to
-- S3, and each admission lane's last decision.

CREATE TABLE locations (
    id                   uuid        NOT NULL DEFAULT gen_random_uuid(),
    integrator           text        NOT NULL,
    external_location_id text        NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT locations_pkey PRIMARY KEY (id),
    CONSTRAINT locations_integrator_external_key UNIQUE (integrator, external_location_id),
    CONSTRAINT locations_external_location_id_check CHECK (external_location_id <> '' AND char_length(external_location_id) <= 255)
);
COMMENT ON TABLE locations IS 'An integrator''s business (its external_location_id), the parent of one site per publisher.';

CREATE TABLE sites (
    id                   uuid        NOT NULL DEFAULT gen_random_uuid(),
    location_id          uuid        NOT NULL,
    publisher_key        text        NOT NULL,
    url                  text,
    url_status           text        NOT NULL DEFAULT 'missing',
    internal_business_id text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT sites_pkey PRIMARY KEY (id),
    CONSTRAINT sites_location_id_fkey FOREIGN KEY (location_id) REFERENCES locations (id) ON DELETE CASCADE,
    CONSTRAINT sites_location_publisher_key UNIQUE (location_id, publisher_key),
    CONSTRAINT sites_url_status_check CHECK (url_status IN ('missing', 'pending_finder', 'pending_qa', 'active', 'invalid'))
);
COMMENT ON TABLE sites IS 'A location on one publisher: its URL and the URL''s lifecycle.';
COMMENT ON COLUMN sites.internal_business_id IS 'Publisher-side business id discovered while scraping (e.g. a place id).';

CREATE TABLE scrape_jobs (
    task_id          uuid        NOT NULL,
    request_id       text        NOT NULL,
    api_key_id       uuid        NOT NULL,
    integrator       text        NOT NULL,
    foreign_key      text        NOT NULL,
    location_id      uuid        NOT NULL,
    site_id          uuid        NOT NULL,
    publisher_key    text        NOT NULL,
    url              text        NOT NULL,
    from_date        timestamptz,
    max_reviews      integer,
    priority         integer     NOT NULL,
    browser_backed   boolean     NOT NULL DEFAULT false,
    task_queue       text        NOT NULL,
    status           text        NOT NULL DEFAULT 'BUFFERED',
    waiting_reason   text,
    failure_reason   text,
    failure_detail   text,
    review_count     integer     NOT NULL DEFAULT 0,
    submitted_at     timestamptz NOT NULL DEFAULT now(),
    admitted_at      timestamptz,
    queued_at        timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT scrape_jobs_pkey PRIMARY KEY (task_id),
    CONSTRAINT scrape_jobs_api_key_id_fkey FOREIGN KEY (api_key_id) REFERENCES api_keys (id),
    CONSTRAINT scrape_jobs_location_id_fkey FOREIGN KEY (location_id) REFERENCES locations (id),
    CONSTRAINT scrape_jobs_site_id_fkey FOREIGN KEY (site_id) REFERENCES sites (id),
    CONSTRAINT scrape_jobs_status_check CHECK (status IN
        ('BUFFERED', 'PENDING_SCRAPE', 'QUEUED', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED')),
    CONSTRAINT scrape_jobs_foreign_key_check CHECK (foreign_key <> '' AND char_length(foreign_key) <= 255),
    CONSTRAINT scrape_jobs_max_reviews_check CHECK (max_reviews IS NULL OR max_reviews > 0),
    CONSTRAINT scrape_jobs_failure_check CHECK (status <> 'FAILED' OR failure_reason IS NOT NULL)
);
COMMENT ON TABLE scrape_jobs IS 'One scrape request. Platform creates it BUFFERED; admission moves it to PENDING_SCRAPE then QUEUED; the scrape workflow to IN_PROGRESS and a terminal status.';
COMMENT ON COLUMN scrape_jobs.task_id IS 'UUIDv7 made at creation; the workflow ID is scrape-{task_id}.';
COMMENT ON COLUMN scrape_jobs.priority IS 'Admission tier from the API key: production 100, test 1000; lower is sooner.';
COMMENT ON COLUMN scrape_jobs.waiting_reason IS 'Why admission passed over this BUFFERED row on its last look at it.';

-- Admission reads the BUFFERED backlog tier by tier, publisher by publisher,
-- oldest first: this index serves the distinct-publisher skip scan (whose
-- first entry per publisher is that publisher's head job, browser flag
-- included, so no table access) and each publisher's next rows.
CREATE INDEX scrape_jobs_buffered_idx ON scrape_jobs (priority, publisher_key, submitted_at, task_id)
    INCLUDE (browser_backed) WHERE status = 'BUFFERED';
-- Capacity is read from the rows in flight every tick; there are at most a
-- few hundred of them.
CREATE INDEX scrape_jobs_in_flight_idx ON scrape_jobs (publisher_key, browser_backed)
    WHERE status IN ('PENDING_SCRAPE', 'QUEUED', 'IN_PROGRESS');
-- A retried submit (same key, same foreign_key within minutes) finds its job.
CREATE INDEX scrape_jobs_dedupe_idx ON scrape_jobs (api_key_id, foreign_key, submitted_at DESC);

CREATE TABLE scrape_result_batches (
    task_id      uuid        NOT NULL,
    batch_number integer     NOT NULL,
    s3_key       text        NOT NULL,
    url          text        NOT NULL,
    review_count integer     NOT NULL,
    sha256       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT scrape_result_batches_pkey PRIMARY KEY (task_id, batch_number),
    CONSTRAINT scrape_result_batches_task_id_fkey FOREIGN KEY (task_id) REFERENCES scrape_jobs (task_id) ON DELETE CASCADE,
    CONSTRAINT scrape_result_batches_batch_number_check CHECK (batch_number >= 1),
    CONSTRAINT scrape_result_batches_review_count_check CHECK (review_count >= 0)
);
COMMENT ON TABLE scrape_result_batches IS 'One JSON-lines file of reviews in S3 per row; review content never lives in the database.';
COMMENT ON COLUMN scrape_result_batches.s3_key IS 'Deterministic {request_id}/{task_id}-batch-{n}.jl, so a retried write overwrites the same object.';

CREATE TABLE admission_lanes (
    lane       text        NOT NULL,
    snapshot   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT admission_lanes_pkey PRIMARY KEY (lane)
);
COMMENT ON TABLE admission_lanes IS 'Each admission lane''s last tick: gate, in flight, backlog, decision. Read to explain waits.';
