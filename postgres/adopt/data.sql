-- The data steps of `vitrine migrate adopt`: back-fills and the normalization of orders.

-- name: relation_blocks
SELECT (pg_relation_size('product_images') / current_setting('block_size')::bigint)::bigint;

-- name: fill_blocks
-- Fills, in the blocks [$1, $2) of product_images, what Vitrine's reads cannot take NULL:
-- storage_path (from image_url, as insert_image_with_order does), created_at (the fallback
-- time $3, refined by the normalization) and image_order ($4, after every real order, until
-- the normalization renumbers the gallery).
UPDATE product_images
   SET storage_path = coalesce(storage_path, image_url),
       created_at = coalesce(created_at, $3::timestamptz),
       image_order = coalesce(image_order, $4::integer)
 WHERE ctid >= format('(%s,0)', $1::bigint)::tid AND ctid < format('(%s,0)', $2::bigint)::tid
   AND (storage_path IS NULL OR created_at IS NULL OR image_order IS NULL);

-- name: fill_rest
-- The same for rows written meanwhile anywhere in the table.
UPDATE product_images
   SET storage_path = coalesce(storage_path, image_url),
       created_at = coalesce(created_at, $1::timestamptz),
       image_order = coalesce(image_order, $2::integer)
 WHERE storage_path IS NULL OR created_at IS NULL OR image_order IS NULL;

-- name: fill_null_image_ids
-- Rows without an id get one (the plan lists them); every later step keys rows by id.
UPDATE product_images SET id = gen_random_uuid() WHERE id IS NULL;

-- name: object_times_clear
TRUNCATE vitrine_adopt_object_times;

-- name: overrides_clear
TRUNCATE vitrine_adopt_overrides;

-- name: overrides_mismatched
-- Overrides that name an image that is not in the product they name.
SELECT o.product_id::text || ' / ' || o.image_id::text, count(*) OVER ()
FROM vitrine_adopt_overrides o
WHERE NOT EXISTS (SELECT 1 FROM product_images i WHERE i.id = o.image_id AND i.product_id = o.product_id)
ORDER BY o.product_id, o.image_id LIMIT 5;

-- name: parse_time_create
-- vitrine_adopt_parse_time reads a timestamp out of text: unix seconds, unix milliseconds, or a
-- to_timestamp format; NULL when the text does not hold one. It lives only while adopt runs.
CREATE OR REPLACE FUNCTION vitrine_adopt_parse_time(p_text text, p_format text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_text IS NULL OR p_format IS NULL OR p_format = '' THEN
        RETURN NULL;
    END IF;
    RETURN CASE p_format
        WHEN 'unix' THEN to_timestamp(p_text::double precision)
        WHEN 'unix_ms' THEN to_timestamp(p_text::double precision / 1000)
        ELSE to_timestamp(p_text, p_format)
    END;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END;
$$;

-- name: parse_time_drop
DROP FUNCTION IF EXISTS vitrine_adopt_parse_time(text, text);

-- name: next_products
-- The next batch of products with images, in id order, after $1 ($2 of them).
SELECT coalesce(array_agg(product_id ORDER BY product_id), '{}') FROM (
    SELECT DISTINCT product_id FROM product_images
    WHERE product_id > $1 ORDER BY product_id LIMIT $2
) AS b;

-- name: lock_products
-- The gallery locks of the API (vitrine_lock_product), in id order, until the transaction ends.
SELECT count(pg_advisory_xact_lock(vitrine_product_lock_key(p)))
FROM (SELECT unnest($1::uuid[]) AS p ORDER BY 1) AS s;

-- name: normalize_batch
-- Normalizes the galleries of the products $1: fills storage_path (from image_url) and dates
-- the images whose created_at is the fallback time $4 (the store's time of the object, else a
-- time read from the path with pattern $2 and format $3, else $4 stays), then numbers each gallery 0..n-1 by the overrides first, then
-- {{order_by}}, then id. $5 true keeps the current order ahead of the criterion (the sweep of
-- galleries written during the adoption). Records where each filled created_at came from and
-- returns how many rows changed.
WITH filled AS (
    SELECT i.id, i.product_id, i.image_url, i.image_order,
           coalesce(i.storage_path, i.image_url) AS storage_path,
           CASE WHEN i.created_at IS NOT NULL AND i.created_at <> $4::timestamptz THEN i.created_at
                ELSE coalesce(t.store, t.path, $4::timestamptz) END AS created_at,
           CASE WHEN i.created_at IS NOT NULL AND i.created_at <> $4::timestamptz THEN NULL
                WHEN t.store IS NOT NULL THEN 'store'
                WHEN t.path IS NOT NULL THEN 'path'
                ELSE 'fallback' END AS source,
           o.image_order AS override
    FROM product_images AS i
    LEFT JOIN vitrine_adopt_overrides AS o ON o.image_id = i.id AND o.product_id = i.product_id
    LEFT JOIN LATERAL (
        SELECT (SELECT modified FROM vitrine_adopt_object_times WHERE key = coalesce(i.storage_path, i.image_url)) AS store,
               CASE WHEN (i.created_at IS NULL OR i.created_at = $4::timestamptz) AND $2::text <> ''
                    THEN vitrine_adopt_parse_time(substring(coalesce(i.storage_path, i.image_url) FROM $2::text), $3::text) END AS path
    ) AS t ON true
    WHERE i.product_id = ANY ($1::uuid[])
), ranked AS (
    SELECT f.*, row_number() OVER (PARTITION BY f.product_id
        ORDER BY f.override NULLS LAST, CASE WHEN $5::boolean THEN f.image_order END NULLS LAST, {{order_by}}, f.id) - 1 AS new_order
    FROM filled AS f
), changed AS (
    UPDATE product_images AS i
       SET image_order = r.new_order, created_at = r.created_at, storage_path = r.storage_path
      FROM ranked AS r
     WHERE i.id = r.id
       AND (i.image_order IS DISTINCT FROM r.new_order OR i.created_at IS DISTINCT FROM r.created_at
            OR i.storage_path IS DISTINCT FROM r.storage_path)
    RETURNING r.id, r.source
), recorded AS (
    INSERT INTO vitrine_adopt_created_at (image_id, source)
    SELECT id, source FROM ranked WHERE source IS NOT NULL
    ON CONFLICT (image_id) DO NOTHING
)
SELECT count(*) FROM changed;

-- name: broken_galleries
-- Products whose orders are not exactly 0..n-1 (written meanwhile by something other than
-- Vitrine's functions), or that still have rows without storage_path or created_at.
SELECT coalesce(array_agg(product_id ORDER BY product_id), '{}') FROM (
    SELECT product_id FROM product_images
    GROUP BY product_id
    HAVING bool_or(image_order IS NULL) OR min(image_order) <> 0 OR max(image_order) <> count(*) - 1
        OR count(DISTINCT image_order) <> count(*)
        OR bool_or(storage_path IS NULL) OR bool_or(created_at IS NULL)
) AS b;

-- name: create_missing_products
-- Creates, unpublished and owned by $1, the products that images name but that do not exist.
INSERT INTO products (id, supplier_id)
SELECT DISTINCT i.product_id, $1::uuid FROM product_images AS i
WHERE i.product_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM products AS p WHERE p.id = i.product_id)
ON CONFLICT (id) DO NOTHING;

-- name: fill_null_suppliers
UPDATE products SET supplier_id = $1 WHERE supplier_id IS NULL;

-- name: duplicate_orders
-- Every pair (product_id, image_order) that more than one image holds, with the images.
SELECT product_id, image_order, array_agg(id ORDER BY id)
FROM product_images GROUP BY product_id, image_order HAVING count(*) > 1
ORDER BY product_id, image_order LIMIT $1;

-- name: mark_goose_applied
-- Records versions as applied, as goose does, unless goose has them already.
INSERT INTO goose_db_version (version_id, is_applied)
SELECT v, true FROM unnest($1::bigint[]) AS v
WHERE NOT EXISTS (SELECT 1 FROM goose_db_version WHERE version_id = v AND is_applied);
