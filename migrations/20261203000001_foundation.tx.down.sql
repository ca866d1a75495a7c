-- Undo 20261203000001_foundation.tx.up.sql in reverse order. Dropping a table
-- drops its indexes, constraints and comments with it. No CASCADE: if a later
-- table still references one of these, this must fail rather than silently
-- drop that table's foreign key.
DROP TABLE publisher_configuration;
DROP TABLE inbound_request;
DROP TABLE api_keys;
