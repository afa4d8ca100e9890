-- Imports by URL: an image row that exists before its original does.
--
-- A supplier (or a feed) names an image by its source URL; the row is inserted at once, at a
-- fixed position of the gallery, with import_status 'importing' and no original (image_url
-- and storage_path NULL), and a job fetches the URL, checks the bytes as an upload's are
-- checked, and publishes them: the original's columns are set and import_status becomes NULL,
-- as for every uploaded image. A failed fetch leaves import_status 'failed' with a code and a
-- message that the API shows; a retry sets it back to 'importing'.
--
-- product_images_original_check ties the two states together: a row has an original exactly
-- when it has no import_status. A row without an original names no object, so the outbox
-- triggers (00004, NULL keys skipped) and the purge have nothing to do for it.
--
-- The same (product, source_url) is one image: product_images_source_key makes a second
-- import of it find the first, whatever became of it (importing, failed or published). The
-- source URL stays on the row after publication.
--
-- `vitrine migrate adopt` adds the four columns itself (with the same checks) before goose
-- records this file, since the API it keeps serving reads them with every image: they are
-- added here only where they are missing.
--
-- vitrine_images_updated_events (00012) gains a 'status' event when import_status changes,
-- so that a stream's clients re-read the image when it is published or fails.

-- +goose Up
ALTER TABLE product_images
    ALTER COLUMN image_url DROP NOT NULL,
    ALTER COLUMN storage_path DROP NOT NULL,
    ADD COLUMN IF NOT EXISTS source_url text CONSTRAINT product_images_source_url_check CHECK (char_length(source_url) <= 2048),
    ADD COLUMN IF NOT EXISTS import_status text CONSTRAINT product_images_import_status_check CHECK (import_status IN ('importing', 'failed')),
    ADD COLUMN IF NOT EXISTS import_error_code text,
    ADD COLUMN IF NOT EXISTS import_error text,
    ADD CONSTRAINT product_images_original_check
        CHECK ((import_status IS NULL) = (image_url IS NOT NULL AND storage_path IS NOT NULL)) NOT VALID;
-- Validated apart from the ALTER above, which held the table's exclusive lock: the scan of
-- existing rows only holds a lock that lets reads and writes go on.
ALTER TABLE product_images VALIDATE CONSTRAINT product_images_original_check;
CREATE UNIQUE INDEX product_images_source_key ON product_images (product_id, source_url)
    WHERE source_url IS NOT NULL;

-- vitrine_import_image inserts an image to be imported from p_source_url into a product's
-- gallery at p_position (NULL: at the end), moving the images from that position on down by
-- one, and returns its id and order, or those of the product's image with that source URL
-- when there is one already (p_existed true, nothing changed). Ownership is checked as
-- vitrine_append_image checks it, under the same per-product lock.
-- +goose StatementBegin
CREATE FUNCTION vitrine_import_image(
    p_product_id  uuid,
    p_supplier_id uuid,
    p_id          uuid,
    p_source_url  text,
    p_alt         text,
    p_position    integer,
    OUT o_id      uuid,
    OUT o_order   integer,
    OUT o_existed boolean
)
LANGUAGE plpgsql AS $$
DECLARE
    v_owner uuid;
    v_count integer;
BEGIN
    IF p_product_id IS NULL OR p_source_url IS NULL OR p_source_url = '' THEN
        RAISE EXCEPTION 'product id and source url are required' USING ERRCODE = 'VT422';
    END IF;
    PERFORM vitrine_lock_product(p_product_id);
    PERFORM vitrine_check_writable(p_product_id);
    SELECT supplier_id INTO v_owner FROM products WHERE id = p_product_id;
    IF p_supplier_id IS NOT NULL AND v_owner <> p_supplier_id THEN
        RAISE EXCEPTION 'supplier % does not own product %', p_supplier_id, p_product_id
            USING ERRCODE = 'VT403';
    END IF;
    SELECT id, image_order INTO o_id, o_order FROM product_images
        WHERE product_id = p_product_id AND source_url = p_source_url;
    IF FOUND THEN
        o_existed := true;
        RETURN;
    END IF;
    o_existed := false;
    SELECT count(*) INTO v_count FROM product_images WHERE product_id = p_product_id;
    o_order := coalesce(p_position, v_count);
    IF o_order < 0 OR o_order > v_count THEN
        RAISE EXCEPTION 'position must be between 0 and %', v_count USING ERRCODE = 'VT422';
    END IF;
    UPDATE product_images SET image_order = image_order + 1
        WHERE product_id = p_product_id AND image_order >= o_order;
    o_id := coalesce(p_id, gen_random_uuid());
    INSERT INTO product_images (id, product_id, source_url, import_status, alt, image_order)
    VALUES (o_id, p_product_id, p_source_url, 'importing', coalesce(p_alt, ''), o_order);
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vitrine_images_updated_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM vitrine_emit_events(ARRAY(
        SELECT ROW(n.product_id, n.id, c.change)::vitrine_event_draft
        FROM old_rows AS o JOIN new_rows AS n USING (id)
        CROSS JOIN LATERAL (VALUES
            (1, 'moved', o.image_order IS DISTINCT FROM n.image_order OR o.product_id IS DISTINCT FROM n.product_id),
            (2, 'alt', o.alt IS DISTINCT FROM n.alt),
            (3, 'thumbnails', o.thumbnails IS DISTINCT FROM n.thumbnails OR o.thumbnail_url IS DISTINCT FROM n.thumbnail_url
                OR o.variants IS DISTINCT FROM n.variants OR o.thumbhash IS DISTINCT FROM n.thumbhash
                OR o.dominant_color IS DISTINCT FROM n.dominant_color),
            (4, 'status', o.import_status IS DISTINCT FROM n.import_status)
        ) AS c(k, change, changed)
        WHERE c.changed
        ORDER BY n.image_order, c.k));
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vitrine_images_updated_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM vitrine_emit_events(ARRAY(
        SELECT ROW(n.product_id, n.id, c.change)::vitrine_event_draft
        FROM old_rows AS o JOIN new_rows AS n USING (id)
        CROSS JOIN LATERAL (VALUES
            (1, 'moved', o.image_order IS DISTINCT FROM n.image_order OR o.product_id IS DISTINCT FROM n.product_id),
            (2, 'alt', o.alt IS DISTINCT FROM n.alt),
            (3, 'thumbnails', o.thumbnails IS DISTINCT FROM n.thumbnails OR o.thumbnail_url IS DISTINCT FROM n.thumbnail_url
                OR o.variants IS DISTINCT FROM n.variants OR o.thumbhash IS DISTINCT FROM n.thumbhash
                OR o.dominant_color IS DISTINCT FROM n.dominant_color)
        ) AS c(k, change, changed)
        WHERE c.changed
        ORDER BY n.image_order, c.k));
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
DROP FUNCTION vitrine_import_image(uuid, uuid, uuid, text, text, integer);
-- Rows still without an original cannot be kept under the old NOT NULL columns: they are
-- deleted as the API deletes an image, so that orders stay dense.
SELECT (vitrine_delete_image(id)).id FROM product_images WHERE import_status IS NOT NULL;
DROP INDEX product_images_source_key;
ALTER TABLE product_images
    DROP CONSTRAINT product_images_original_check,
    DROP COLUMN import_error,
    DROP COLUMN import_error_code,
    DROP COLUMN import_status,
    DROP COLUMN source_url,
    ALTER COLUMN storage_path SET NOT NULL,
    ALTER COLUMN image_url SET NOT NULL;
