-- Benchmark fixtures, run once on the freshly migrated database (psql -v supplier=<uuid>).
\set ON_ERROR_STOP on
-- Product i has the id iiiiiiii-0000-4000-8000-000000000000 (i in hex).
-- vitrine_product_lock_key hashes all 128 bits of the id into the per-product advisory lock's
-- key, so these 1,000 products get 1,000 different locks (run.sh checks it); if two shared a
-- key, the "spread" measurement would silently become a second "hot" one.
INSERT INTO products (id, supplier_id)
SELECT (lpad(to_hex(i), 8, '0') || '-0000-4000-8000-000000000000')::uuid, :'supplier'::uuid
FROM generate_series(1, 1000) AS i;

-- Same columns, defaults, CHECKs and indexes (so the same DEFERRABLE unique constraint);
-- LIKE never copies foreign keys or triggers.
CREATE TABLE product_images_plain (LIKE product_images INCLUDING ALL);
CREATE SEQUENCE plain_order_seq;
ANALYZE products;
