-- The progress of `vitrine migrate adopt`: one row per step, kept after the adoption as its
-- record, so that a rerun skips what is done and resumes a step where it stopped.

-- name: state_create
CREATE TABLE IF NOT EXISTS vitrine_adopt_state (
    step        text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    seconds     double precision,
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS vitrine_adopt_created_at (
    image_id uuid PRIMARY KEY,
    source   text NOT NULL CHECK (source IN ('store', 'path', 'fallback'))
);
CREATE UNLOGGED TABLE IF NOT EXISTS vitrine_adopt_object_times (
    key      text PRIMARY KEY,
    modified timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS vitrine_adopt_overrides (
    image_id    uuid PRIMARY KEY,
    product_id  uuid NOT NULL,
    image_order integer NOT NULL
);

-- name: state_exists
SELECT to_regclass('vitrine_adopt_state') IS NOT NULL;

-- name: state_read
SELECT step, finished_at IS NOT NULL, coalesce(seconds, 0), detail FROM vitrine_adopt_state;

-- name: state_start
-- $1 step, $2 the detail to start with; a started step keeps its detail (its cursor).
INSERT INTO vitrine_adopt_state (step, detail) VALUES ($1, $2)
ON CONFLICT (step) DO UPDATE SET detail = excluded.detail || vitrine_adopt_state.detail
RETURNING detail;

-- name: state_detail
-- $1 step, $2 keys to merge into its detail.
UPDATE vitrine_adopt_state SET detail = detail || $2 WHERE step = $1;

-- name: state_finish
UPDATE vitrine_adopt_state SET finished_at = clock_timestamp(), seconds = $2, detail = detail || $3
WHERE step = $1;

-- name: goose_applied
-- The versions goose has recorded, when its table exists.
SELECT coalesce(array_agg(version_id ORDER BY version_id), '{}')
FROM goose_db_version WHERE is_applied AND version_id > 0;

-- name: goose_table_exists
SELECT to_regclass('goose_db_version') IS NOT NULL;
