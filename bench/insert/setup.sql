-- Benchmark fixtures, run once on the freshly migrated database (psql -v supplier=<uuid>).
\set ON_ERROR_STOP on
-- Product i has the id iiiiiiii-0000-4000-8000-000000000000 (i in hex): the integer sits in
-- the FIRST 64 bits on purpose. vitrine_product_lock_key keys the per-product advisory lock
-- on the first 64 bits only, so ids that differ only in their last 12 hex digits (such as
-- '00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0')) would all share ONE lock and the
-- "spread" measurement would silently become a second "hot" one. run.sh checks the keys.
INSERT INTO products (id, supplier_id)
SELECT (lpad(to_hex(i), 8, '0') || '-0000-4000-8000-000000000000')::uuid, :'supplier'::uuid
FROM generate_series(1, 1000) AS i;

-- Same columns, defaults, CHECKs and indexes (so the same DEFERRABLE unique constraint);
-- LIKE never copies foreign keys or triggers.
CREATE TABLE product_images_plain (LIKE product_images INCLUDING ALL);
CREATE SEQUENCE plain_order_seq;
ANALYZE products;
