-- The maintenance flag of migration 00005: set, wait for writers, clear, read.

-- name: pause_writes
-- $1 reason, $2 how long the flag holds at most (an interval) if nobody clears it.
INSERT INTO vitrine_maintenance (singleton, reason, started_at, expires_at)
VALUES (true, $1, clock_timestamp(), clock_timestamp() + $2::interval)
ON CONFLICT (singleton) DO UPDATE
    SET reason = excluded.reason, started_at = excluded.started_at, expires_at = excluded.expires_at;

-- name: drain_writers
-- In a transaction of its own: waits for every transaction that has written to product_images
-- to end (they hold ROW EXCLUSIVE, which SHARE waits for); later writes meet the flag.
LOCK TABLE product_images IN SHARE MODE;

-- name: resume_writes
DELETE FROM vitrine_maintenance;

-- name: writes_paused
SELECT coalesce((SELECT reason FROM vitrine_maintenance WHERE expires_at > clock_timestamp()), '');

-- name: set_lock_timeout
-- $1 milliseconds; for the session, until reset_lock_timeout.
SELECT set_config('lock_timeout', $1::text, false);

-- name: set_local_lock_timeout
-- $1 milliseconds; for the transaction.
SELECT set_config('lock_timeout', $1::text, true);

-- name: reset_lock_timeout
RESET lock_timeout;

-- name: batch_plans
-- For the transaction: plan each normalization batch for its own products (a generic plan,
-- which PostgreSQL may cache after five runs, cannot see how few rows "product_id = ANY ($1)"
-- selects), and update its rows through the primary key: PostgreSQL cannot estimate how many
-- rows a CTE yields and would otherwise hash the whole table for every batch.
SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('enable_hashjoin', 'off', true),
       set_config('enable_mergejoin', 'off', true);
