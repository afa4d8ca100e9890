-- What `vitrine migrate adopt` reads to plan: the catalog and the legacy data's problems.

-- name: table_exists
SELECT to_regclass($1) IS NOT NULL;

-- name: columns
-- $1 table: name, type, NOT NULL, default, generated expression.
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       coalesce(CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END, ''),
       coalesce(CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END, '')
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped;

-- name: constraints
-- $1 table: constraint name, type, validated, definition.
SELECT conname, contype::text, convalidated, pg_get_constraintdef(oid)
FROM pg_constraint WHERE conrelid = $1::regclass;

-- name: indexes
-- $1 table: index name, valid, unique, definition.
SELECT c.relname, i.indisvalid, i.indisunique, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = $1::regclass;

-- name: index_state
-- $1 index name: whether it exists, and whether it is valid (a failed concurrent build leaves
-- an invalid one behind).
SELECT count(*) > 0, coalesce(bool_and(i.indisvalid), false)
FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace;

-- name: rls
-- $1 table: row-level security enabled, forced.
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass;

-- name: policy_exists
SELECT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND tablename = $1 AND policyname = $2);

-- name: functions
SELECT coalesce(array_agg(DISTINCT proname::text), '{}') FROM pg_proc
WHERE pronamespace = current_schema()::regnamespace;

-- name: triggers
-- $1 table.
SELECT coalesce(array_agg(tgname::text), '{}') FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal;

-- name: count_images
SELECT count(*) FROM product_images;

-- name: count_products
SELECT count(*) FROM products;

-- name: problem_duplicate_orders
-- Pairs (product_id, image_order) held by more than one image: how many, and a sample.
SELECT product_id::text || ' order ' || image_order || ': ' || count(*) || ' images (' ||
       array_to_string((array_agg(id::text ORDER BY id))[1:3], ', ') || ')', count(*) OVER ()
FROM product_images WHERE image_order IS NOT NULL
GROUP BY product_id, image_order HAVING count(*) > 1
ORDER BY product_id, image_order LIMIT 5;

-- name: problem_bad_orders
-- Images whose order is NULL or negative.
SELECT id::text || ' (product ' || coalesce(product_id::text, 'NULL') || ', order ' || coalesce(image_order::text, 'NULL') || ')',
       count(*) OVER ()
FROM product_images WHERE image_order IS NULL OR image_order < 0
ORDER BY id LIMIT 5;

-- name: problem_missing_products
-- Products that images name but that do not exist (adopt creates them, unpublished).
SELECT i.product_id::text || ' (' || count(*) || ' images)', count(*) OVER ()
FROM product_images i
WHERE i.product_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM products p WHERE p.id = i.product_id)
GROUP BY i.product_id ORDER BY i.product_id LIMIT 5;

-- name: problem_no_main
-- Products with images of which none has order 0.
SELECT product_id::text || ' (lowest order ' || coalesce(min(image_order)::text, 'NULL') || ')', count(*) OVER ()
FROM product_images WHERE product_id IS NOT NULL
GROUP BY product_id HAVING NOT bool_or(image_order = 0) OR bool_and(image_order IS NULL)
ORDER BY product_id LIMIT 5;

-- name: problem_null_product
SELECT coalesce(id::text, 'NULL') || ' (' || coalesce(image_url, 'NULL') || ')', count(*) OVER ()
FROM product_images WHERE product_id IS NULL ORDER BY id LIMIT 5;

-- name: problem_null_url
SELECT coalesce(id::text, 'NULL'), count(*) OVER ()
FROM product_images WHERE image_url IS NULL ORDER BY id LIMIT 5;

-- name: problem_null_image_id
SELECT coalesce(image_url, 'NULL'), count(*) OVER ()
FROM product_images WHERE id IS NULL ORDER BY image_url LIMIT 5;

-- name: problem_duplicate_image_ids
SELECT id::text || ': ' || count(*) || ' rows', count(*) OVER ()
FROM product_images WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5;

-- name: problem_duplicate_product_ids
SELECT id::text || ': ' || count(*) || ' rows', count(*) OVER ()
FROM products WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5;

-- name: problem_null_product_ids
SELECT 'a product without id', count(*) OVER () FROM products WHERE id IS NULL LIMIT 5;

-- name: problem_null_supplier
SELECT id::text, count(*) OVER () FROM products WHERE supplier_id IS NULL ORDER BY id LIMIT 5;

-- name: problem_null_storage_path
-- Images without a storage path: adopt records their image_url as the path, as
-- insert_image_with_order does.
SELECT id::text || ' -> ' || image_url, count(*) OVER ()
FROM product_images WHERE storage_path IS NULL ORDER BY id LIMIT 5;

-- name: problem_null_created_at
SELECT id::text, count(*) OVER () FROM product_images WHERE created_at IS NULL ORDER BY id LIMIT 5;
