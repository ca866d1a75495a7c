-- Accounts: operators of the admin/QA console and the browser extension,
-- their roles and permissions (RBAC), and their refresh tokens. Integrators
-- never appear here: they authenticate with api_keys.

CREATE TABLE users (
    id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
    email               text        NOT NULL,
    name                text        NOT NULL DEFAULT '',
    -- Argon2id PHC string: $argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>. It
    -- carries its own parameters, so they can be raised without a migration.
    password_hash       text        NOT NULL,
    active              boolean     NOT NULL DEFAULT true,
    disabled_at         timestamptz,
    disabled_by         uuid,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    last_login_at       timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    deleted_by          uuid,

    CONSTRAINT users_pkey PRIMARY KEY (id),
    -- The service lower-cases and trims addresses; the check keeps anything
    -- else from slipping past the unique index below.
    CONSTRAINT users_email_check CHECK (email <> '' AND email = lower(btrim(email)) AND char_length(email) <= 320),
    CONSTRAINT users_name_check CHECK (char_length(name) <= 200),
    CONSTRAINT users_password_hash_check CHECK (password_hash LIKE '$argon2id$%'),
    CONSTRAINT users_disabled_check CHECK (active OR disabled_at IS NOT NULL),
    CONSTRAINT users_disabled_by_fkey FOREIGN KEY (disabled_by) REFERENCES users (id),
    CONSTRAINT users_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES users (id),
    CONSTRAINT users_deleted_by_check CHECK (deleted_by IS NULL OR deleted_at IS NOT NULL)
);

-- One live account per address; a soft-deleted account frees its address.
CREATE UNIQUE INDEX users_email_live_idx ON users (email) WHERE deleted_at IS NULL;

COMMENT ON TABLE users IS 'Operator accounts (admin/QA console, browser extension). Soft-deleted.';
COMMENT ON COLUMN users.email IS 'Login name: lower-case, trimmed, unique among live accounts.';
COMMENT ON COLUMN users.password_hash IS 'Argon2id PHC string with its parameters and salt; never leaves the service.';
COMMENT ON COLUMN users.active IS 'false once disabled: every token of the user stops working at once.';
COMMENT ON COLUMN users.disabled_by IS 'User who disabled the account.';

-- Permissions are dotted names an API operation declares (user.manage,
-- qa.task.claim, …). The API refuses to start with an operation declaring a
-- name the Go code does not know; a test keeps the Go list and this table
-- in step.
CREATE TABLE permissions (
    name        text NOT NULL,
    description text NOT NULL,

    CONSTRAINT permissions_pkey PRIMARY KEY (name),
    CONSTRAINT permissions_name_check CHECK (name ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$')
);

CREATE TABLE roles (
    name        text        NOT NULL,
    description text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT roles_pkey PRIMARY KEY (name),
    CONSTRAINT roles_name_check CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$')
);

CREATE TABLE role_permissions (
    role       text NOT NULL,
    permission text NOT NULL,

    CONSTRAINT role_permissions_pkey PRIMARY KEY (role, permission),
    CONSTRAINT role_permissions_role_fkey FOREIGN KEY (role) REFERENCES roles (name) ON DELETE CASCADE,
    CONSTRAINT role_permissions_permission_fkey FOREIGN KEY (permission) REFERENCES permissions (name) ON DELETE CASCADE
);

CREATE TABLE user_roles (
    user_id    uuid        NOT NULL,
    role       text        NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    granted_by uuid,

    CONSTRAINT user_roles_pkey PRIMARY KEY (user_id, role),
    CONSTRAINT user_roles_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_roles_role_fkey FOREIGN KEY (role) REFERENCES roles (name),
    CONSTRAINT user_roles_granted_by_fkey FOREIGN KEY (granted_by) REFERENCES users (id)
);

-- "Who holds this role" (admin screens, the last-admin guard).
CREATE INDEX user_roles_role_idx ON user_roles (role);

COMMENT ON TABLE user_roles IS 'Roles granted to users; a user''s permissions are the union of its roles''.';

-- Refresh tokens rotate on every use: each use marks the token used and
-- issues its successor in the same family. Presenting a used token again
-- means it was copied, so the whole family is revoked.
CREATE TABLE refresh_tokens (
    id          uuid        NOT NULL,
    user_id     uuid        NOT NULL,
    family_id   uuid        NOT NULL,
    token_hash  bytea       NOT NULL,
    -- The kind of access token the family issues: the console's "access"
    -- or the browser extension's "extension".
    token_type  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    replaced_by uuid,
    revoked_at  timestamptz,
    revoked_reason text,

    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_token_hash_check CHECK (octet_length(token_hash) = 32),
    CONSTRAINT refresh_tokens_token_type_check CHECK (token_type IN ('access', 'extension')),
    CONSTRAINT refresh_tokens_revoked_reason_check CHECK (
        (revoked_at IS NULL AND revoked_reason IS NULL)
        OR (revoked_at IS NOT NULL AND revoked_reason IN ('logout', 'reuse', 'user_disabled', 'password_reset'))
    ),
    CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT refresh_tokens_replaced_by_fkey FOREIGN KEY (replaced_by) REFERENCES refresh_tokens (id) ON DELETE SET NULL
);

CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
-- Disabling a user or resetting a password revokes its live tokens.
CREATE INDEX refresh_tokens_user_id_live_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;

COMMENT ON TABLE refresh_tokens IS 'Refresh tokens, stored as SHA-256, rotated on use, revoked by family on reuse.';
COMMENT ON COLUMN refresh_tokens.family_id IS 'Every token rotated from one login shares it.';
COMMENT ON COLUMN refresh_tokens.used_at IS 'When the token was rotated; presenting it again revokes the family.';

-- Integrator rate limit: NULL uses the deployment default.
ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute integer;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_rate_limit_per_minute_check
    CHECK (rate_limit_per_minute IS NULL OR rate_limit_per_minute BETWEEN 1 AND 1000000);
COMMENT ON COLUMN api_keys.rate_limit_per_minute IS 'Requests per minute this key may make; NULL means the default (RATE_LIMIT_API_KEY_PER_MINUTE).';

-- users now exists, so deleted_by can point at it. NOT VALID: rows deleted
-- before accounts existed keep whatever they hold; new writes are checked.
ALTER TABLE publisher_configuration ADD CONSTRAINT publisher_configuration_deleted_by_fkey
    FOREIGN KEY (deleted_by) REFERENCES users (id) NOT VALID;
COMMENT ON COLUMN publisher_configuration.deleted_by IS 'User who deleted the row.';

-- Seed data. A migration that adds a permission must also grant it to admin:
-- admin holds every permission explicitly, not by a special case in code.
INSERT INTO permissions (name, description) VALUES
    ('user.manage',       'Create, update, disable and enable operator accounts, reset passwords, assign roles.'),
    ('apikey.manage',     'Issue, list, limit and revoke integrator API keys.'),
    ('publisher.view',    'Read publisher configurations.'),
    ('publisher.manage',  'Create, update and delete publisher configurations.'),
    ('webhook.view',      'Read webhook endpoints and deliveries.'),
    ('webhook.manage',    'Manage webhook endpoints, replay and recover deliveries.'),
    ('job.view',          'Read scrape, posting and URL-finder jobs.'),
    ('admission.view',    'Read admission state: lanes, gates and backlog.'),
    ('qa.task.view',      'See the QA board.'),
    ('qa.task.claim',     'Claim and release QA tasks.'),
    ('qa.task.complete',  'Complete claimed QA tasks.'),
    ('qa.task.assign',    'Assign QA tasks to operators.'),
    ('extension.use',     'Use the browser extension (capture cookies, post replies).');

INSERT INTO roles (name, description) VALUES
    ('admin',       'Everything, including accounts and API keys.'),
    ('qa_lead',     'Runs the QA board: every QA action, including assigning tasks, plus read access.'),
    ('qa_operator', 'Works QA tasks: view, claim and complete, and the browser extension.'),
    ('viewer',      'Read-only access to jobs, admission, publishers, webhooks and the QA board.');

INSERT INTO role_permissions (role, permission)
SELECT 'admin', name FROM permissions;

INSERT INTO role_permissions (role, permission) VALUES
    ('qa_lead', 'job.view'),
    ('qa_lead', 'admission.view'),
    ('qa_lead', 'publisher.view'),
    ('qa_lead', 'webhook.view'),
    ('qa_lead', 'qa.task.view'),
    ('qa_lead', 'qa.task.claim'),
    ('qa_lead', 'qa.task.complete'),
    ('qa_lead', 'qa.task.assign'),
    ('qa_lead', 'extension.use'),
    ('qa_operator', 'job.view'),
    ('qa_operator', 'publisher.view'),
    ('qa_operator', 'qa.task.view'),
    ('qa_operator', 'qa.task.claim'),
    ('qa_operator', 'qa.task.complete'),
    ('qa_operator', 'extension.use'),
    ('viewer', 'job.view'),
    ('viewer', 'admission.view'),
    ('viewer', 'publisher.view'),
    ('viewer', 'webhook.view'),
    ('viewer', 'qa.task.view');
