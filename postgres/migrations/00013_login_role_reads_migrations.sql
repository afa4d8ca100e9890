-- The login role may read which migrations the database has, so that a server that cannot
-- migrate (no VITRINE_MIGRATE_DATABASE_URL) can tell, in its readiness check, that the schema
-- is behind its binary. It reads goose's bookkeeping only, never changes it.

-- +goose Up
GRANT SELECT ON goose_db_version TO vitrine_app;

-- +goose Down
REVOKE SELECT ON goose_db_version FROM vitrine_app;
