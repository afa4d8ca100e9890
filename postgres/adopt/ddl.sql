-- The schema changes of `vitrine migrate adopt`, as templates: {{...}} are identifiers and
-- expressions from adopt's own tables of Vitrine's schema (adopt_schema.go), never input.
-- Each runs with a lock_timeout and is retried a bounded number of times.

-- name: add_columns
ALTER TABLE {{table}} {{columns}};

-- name: set_default
ALTER TABLE {{table}} ALTER COLUMN {{column}} SET DEFAULT {{expr}};

-- name: add_check_not_valid
-- A CHECK added NOT VALID holds for new rows at once and takes only a brief lock; VALIDATE
-- then scans the table under a lock that lets reads and writes go on.
ALTER TABLE {{table}} ADD CONSTRAINT {{name}} CHECK ({{expr}}) NOT VALID;

-- name: validate_constraint
ALTER TABLE {{table}} VALIDATE CONSTRAINT {{name}};

-- name: set_not_null
-- With a validated CHECK (column IS NOT NULL) in place PostgreSQL skips the table scan.
ALTER TABLE {{table}} ALTER COLUMN {{column}} SET NOT NULL;

-- name: drop_constraint
ALTER TABLE {{table}} DROP CONSTRAINT IF EXISTS {{name}};

-- name: add_foreign_key_not_valid
ALTER TABLE product_images ADD CONSTRAINT product_images_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE NOT VALID;

-- name: create_index_concurrently
-- Never in a transaction; a failed build leaves an INVALID index, dropped before a retry.
CREATE {{unique}} INDEX CONCURRENTLY {{name}} ON {{table}} {{expr}};

-- name: drop_index_concurrently
DROP INDEX CONCURRENTLY IF EXISTS {{name}};

-- name: add_primary_key_using_index
ALTER TABLE {{table}} ADD CONSTRAINT {{name}} PRIMARY KEY USING INDEX {{name}};

-- name: add_unique_using_index
-- DEFERRABLE INITIALLY IMMEDIATE as in 00001: uniqueness is checked at the end of each
-- statement, so one UPDATE can shift a run of orders by one. PostgreSQL marks the index
-- itself deferrable (pg_index.indimmediate = false).
ALTER TABLE product_images ADD CONSTRAINT product_images_product_order_key
    UNIQUE USING INDEX product_images_product_order_key DEFERRABLE INITIALLY IMMEDIATE;
