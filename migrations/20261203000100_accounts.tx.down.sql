ALTER TABLE publisher_configuration DROP CONSTRAINT IF EXISTS publisher_configuration_deleted_by_fkey;
COMMENT ON COLUMN publisher_configuration.deleted_by IS 'User who deleted the row (users arrive in a later migration, hence no foreign key yet).';

ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_rate_limit_per_minute_check;
ALTER TABLE api_keys DROP COLUMN IF EXISTS rate_limit_per_minute;

DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS user_roles;
DROP TABLE IF EXISTS role_permissions;
DROP TABLE IF EXISTS roles;
DROP TABLE IF EXISTS permissions;
DROP TABLE IF EXISTS users;
