-- The gallery core: products, their ordered images, and the functions that keep image_order
-- dense (exactly 0..n-1 per product) under any number of concurrent writers.
--
-- Every function that changes a gallery first takes the product's transaction-scoped advisory
-- lock, so writers to one product run one after another while writers to different products
-- do not wait for each other. Under READ COMMITTED each statement after the lock sees every
-- change committed by the previous holder, which is what makes MAX(image_order)+1 safe even
-- for the first image of an empty gallery (where a row lock would have nothing to lock).
--
-- Errors raised here carry SQLSTATEs of class VT so that callers can tell them apart:
--   VT404 not found, VT403 not the owner, VT409 conflict with the current gallery,
--   VT422 invalid argument, VT500 misuse (wrong isolation level).

-- +goose Up
CREATE TABLE products (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    supplier_id uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_supplier_id_idx ON products (supplier_id);

CREATE TABLE product_images (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id     uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    image_url      text NOT NULL,
    storage_path   text NOT NULL,
    content_sha256 text CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    byte_size      bigint CHECK (byte_size >= 0),
    width          integer CHECK (width > 0),
    height         integer CHECK (height > 0),
    media_type     text,
    alt            text NOT NULL DEFAULT '' CHECK (char_length(alt) <= 1000),
    image_order    integer NOT NULL CHECK (image_order >= 0),
    thumbnails     jsonb,
    thumbnail_url  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- DEFERRABLE (even INITIALLY IMMEDIATE) makes PostgreSQL check uniqueness at the end of
    -- each statement rather than row by row, so one UPDATE can shift a run of orders by one.
    -- Its index on (product_id, image_order) is the one gallery reads use.
    CONSTRAINT product_images_product_order_key
        UNIQUE (product_id, image_order) DEFERRABLE INITIALLY IMMEDIATE
);

-- +goose StatementBegin
CREATE FUNCTION vitrine_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER products_touch_updated_at BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION vitrine_touch_updated_at();
CREATE TRIGGER product_images_touch_updated_at BEFORE UPDATE ON product_images
    FOR EACH ROW EXECUTE FUNCTION vitrine_touch_updated_at();

-- vitrine_product_lock_key maps a product id to the 64-bit key of its advisory lock: a 64-bit
-- hash of all 128 bits, so ids that share a prefix (time-ordered UUIDv7, or a host shop's own
-- structured ids) still get different locks.
-- +goose StatementBegin
CREATE FUNCTION vitrine_product_lock_key(p_product_id uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT uuid_hash_extended(p_product_id, 0)
$$;
-- +goose StatementEnd

-- vitrine_lock_product takes the product's gallery lock until the end of the transaction.
-- It refuses to run above READ COMMITTED: under REPEATABLE READ or SERIALIZABLE the
-- transaction's snapshot predates the lock and MAX(image_order) could miss a committed row.
-- +goose StatementBegin
CREATE FUNCTION vitrine_lock_product(p_product_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'gallery writes need READ COMMITTED, not %', current_setting('transaction_isolation')
            USING ERRCODE = 'VT500';
    END IF;
    PERFORM pg_advisory_xact_lock(vitrine_product_lock_key(p_product_id));
END;
$$;
-- +goose StatementEnd

-- vitrine_claims returns the request's JWT claims, as PostgREST sets them.
-- +goose StatementBegin
CREATE FUNCTION vitrine_claims() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;
-- +goose StatementEnd

-- vitrine_uid is the caller's user id (the token's sub), or NULL.
-- +goose StatementBegin
CREATE FUNCTION vitrine_uid() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN vitrine_claims() ->> 'sub' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                THEN (vitrine_claims() ->> 'sub')::uuid END
$$;
-- +goose StatementEnd

-- vitrine_check_writable raises the error a caller should see when it may not change the
-- gallery of p_product_id: VT404 when it cannot see the product, VT403 when it can see it
-- (a published product of another supplier) but does not own it. Row-level security
-- (migration 00003) is what enforces the rules; this only names the refusal instead of
-- touching zero rows. Roles other than anon and authenticated (the service role, the
-- owner) may change every gallery.
-- +goose StatementBegin
CREATE FUNCTION vitrine_check_writable(p_product_id uuid) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_owner uuid;
BEGIN
    SELECT supplier_id INTO v_owner FROM products WHERE id = p_product_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'product % does not exist', p_product_id USING ERRCODE = 'VT404';
    END IF;
    IF current_user IN ('anon', 'authenticated') AND v_owner IS DISTINCT FROM vitrine_uid() THEN
        RAISE EXCEPTION 'not allowed to change the images of product %', p_product_id USING ERRCODE = 'VT403';
    END IF;
END;
$$;
-- +goose StatementEnd

-- vitrine_append_image appends an image at the end of a product's gallery (order 0 for an
-- empty gallery) and returns its order. p_supplier_id, when not NULL, must own the product.
-- It is the one definition of the append: insert_image_with_order and the Go service both
-- call it.
-- +goose StatementBegin
CREATE FUNCTION vitrine_append_image(
    p_product_id     uuid,
    p_supplier_id    uuid,
    p_id             uuid,
    p_image_url      text,
    p_storage_path   text,
    p_content_sha256 text,
    p_byte_size      bigint,
    p_width          integer,
    p_height         integer,
    p_media_type     text,
    p_alt            text
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_owner uuid;
    v_order integer;
BEGIN
    -- This is the hot path of every upload, so it does inline what vitrine_lock_product and
    -- vitrine_check_writable do elsewhere, with one read of the product.
    IF p_product_id IS NULL THEN
        RAISE EXCEPTION 'product id is required' USING ERRCODE = 'VT422';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'gallery writes need READ COMMITTED, not %', current_setting('transaction_isolation')
            USING ERRCODE = 'VT500';
    END IF;
    PERFORM pg_advisory_xact_lock(vitrine_product_lock_key(p_product_id));
    SELECT supplier_id INTO v_owner FROM products WHERE id = p_product_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'product % does not exist', p_product_id USING ERRCODE = 'VT404';
    END IF;
    IF current_user IN ('anon', 'authenticated') AND v_owner IS DISTINCT FROM vitrine_uid() THEN
        RAISE EXCEPTION 'not allowed to change the images of product %', p_product_id USING ERRCODE = 'VT403';
    END IF;
    IF p_supplier_id IS NOT NULL AND v_owner <> p_supplier_id THEN
        RAISE EXCEPTION 'supplier % does not own product %', p_supplier_id, p_product_id
            USING ERRCODE = 'VT403';
    END IF;
    -- ORDER BY ... LIMIT 1 rather than max(): a plan cached while the table was small would
    -- otherwise read the whole gallery on every append; this one reads one index entry.
    SELECT image_order + 1 INTO v_order FROM product_images
        WHERE product_id = p_product_id ORDER BY image_order DESC LIMIT 1;
    v_order := coalesce(v_order, 0);
    INSERT INTO product_images (id, product_id, image_url, storage_path, content_sha256,
                                byte_size, width, height, media_type, alt, image_order)
    VALUES (coalesce(p_id, gen_random_uuid()), p_product_id, p_image_url, p_storage_path,
            p_content_sha256, p_byte_size, p_width, p_height, p_media_type,
            coalesce(p_alt, ''), v_order);
    RETURN v_order;
END;
$$;
-- +goose StatementEnd

-- insert_image_with_order is the legacy design's RPC, kept for existing callers: it appends
-- p_image_url (also recorded as the storage path) to the gallery of a product that
-- p_supplier_id owns and returns the new image's order.
-- +goose StatementBegin
CREATE FUNCTION insert_image_with_order(p_product_id uuid, p_image_url text, p_supplier_id uuid)
RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF p_supplier_id IS NULL THEN
        RAISE EXCEPTION 'supplier id is required' USING ERRCODE = 'VT422';
    END IF;
    IF p_image_url IS NULL OR p_image_url = '' THEN
        RAISE EXCEPTION 'image url is required' USING ERRCODE = 'VT422';
    END IF;
    RETURN vitrine_append_image(p_product_id, p_supplier_id, NULL, p_image_url, p_image_url,
                                NULL, NULL, NULL, NULL, NULL, NULL);
END;
$$;
-- +goose StatementEnd

-- vitrine_image_product returns the product of an image, or raises VT404.
-- +goose StatementBegin
CREATE FUNCTION vitrine_image_product(p_id uuid) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_product uuid;
BEGIN
    SELECT product_id INTO v_product FROM product_images WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'image % does not exist', p_id USING ERRCODE = 'VT404';
    END IF;
    RETURN v_product;
END;
$$;
-- +goose StatementEnd

-- vitrine_delete_image deletes an image and moves the later images of its gallery up by one,
-- returning the deleted row.
-- +goose StatementBegin
CREATE FUNCTION vitrine_delete_image(p_id uuid) RETURNS product_images
LANGUAGE plpgsql AS $$
DECLARE
    v_row product_images;
BEGIN
    PERFORM vitrine_lock_product(vitrine_image_product(p_id));
    PERFORM vitrine_check_writable(vitrine_image_product(p_id));
    -- Re-read under the lock: the image may have gone while we waited.
    DELETE FROM product_images WHERE id = p_id RETURNING * INTO v_row;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'image % does not exist', p_id USING ERRCODE = 'VT404';
    END IF;
    UPDATE product_images SET image_order = image_order - 1
        WHERE product_id = v_row.product_id AND image_order > v_row.image_order;
    RETURN v_row;
END;
$$;
-- +goose StatementEnd

-- vitrine_move_image moves an image to p_position (0 makes it the main image), shifting the
-- images between its old and new place by one, and returns the moved row.
-- +goose StatementBegin
CREATE FUNCTION vitrine_move_image(p_id uuid, p_position integer) RETURNS product_images
LANGUAGE plpgsql AS $$
DECLARE
    v_row   product_images;
    v_count integer;
BEGIN
    PERFORM vitrine_lock_product(vitrine_image_product(p_id));
    PERFORM vitrine_check_writable(vitrine_image_product(p_id));
    SELECT * INTO v_row FROM product_images WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'image % does not exist', p_id USING ERRCODE = 'VT404';
    END IF;
    SELECT count(*) INTO v_count FROM product_images WHERE product_id = v_row.product_id;
    IF p_position IS NULL OR p_position < 0 OR p_position >= v_count THEN
        RAISE EXCEPTION 'position must be between 0 and %', v_count - 1 USING ERRCODE = 'VT422';
    END IF;
    IF p_position = v_row.image_order THEN
        RETURN v_row;
    END IF;
    UPDATE product_images SET image_order = CASE
            WHEN id = p_id THEN p_position
            WHEN p_position < v_row.image_order THEN image_order + 1
            ELSE image_order - 1
        END
        WHERE product_id = v_row.product_id
          AND image_order BETWEEN least(p_position, v_row.image_order)
                              AND greatest(p_position, v_row.image_order);
    SELECT * INTO v_row FROM product_images WHERE id = p_id;
    RETURN v_row;
END;
$$;
-- +goose StatementEnd

-- vitrine_reorder_images gives a product's gallery the order of p_ids, which must name each of
-- its images exactly once.
-- +goose StatementBegin
CREATE FUNCTION vitrine_reorder_images(p_product_id uuid, p_ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_given    integer := coalesce(cardinality(p_ids), 0);
    v_distinct integer;
    v_count    integer;
    v_matched  integer;
BEGIN
    IF p_product_id IS NULL THEN
        RAISE EXCEPTION 'product id is required' USING ERRCODE = 'VT422';
    END IF;
    SELECT count(DISTINCT x) INTO v_distinct FROM unnest(p_ids) AS x;
    IF v_distinct <> v_given OR array_position(p_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'ids must not repeat or be null' USING ERRCODE = 'VT422';
    END IF;
    PERFORM vitrine_lock_product(p_product_id);
    PERFORM vitrine_check_writable(p_product_id);
    SELECT count(*), count(*) FILTER (WHERE id = ANY (p_ids)) INTO v_count, v_matched
        FROM product_images WHERE product_id = p_product_id;
    IF v_count <> v_given OR v_matched <> v_given THEN
        RAISE EXCEPTION 'ids must be exactly the gallery''s % images (got %, % of them in the gallery)',
            v_count, v_given, v_matched USING ERRCODE = 'VT409';
    END IF;
    UPDATE product_images AS i SET image_order = o.ord - 1
        FROM unnest(p_ids) WITH ORDINALITY AS o (id, ord)
        WHERE i.id = o.id AND i.product_id = p_product_id AND i.image_order <> o.ord - 1;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION vitrine_reorder_images(uuid, uuid[]);
DROP FUNCTION vitrine_move_image(uuid, integer);
DROP FUNCTION vitrine_delete_image(uuid);
DROP FUNCTION vitrine_image_product(uuid);
DROP FUNCTION insert_image_with_order(uuid, text, uuid);
DROP FUNCTION vitrine_append_image(uuid, uuid, uuid, text, text, text, bigint, integer, integer, text, text);
DROP FUNCTION vitrine_check_writable(uuid);
DROP FUNCTION vitrine_uid();
DROP FUNCTION vitrine_claims();
DROP FUNCTION vitrine_lock_product(uuid);
DROP FUNCTION vitrine_product_lock_key(uuid);
DROP TABLE product_images;
DROP TABLE products;
DROP FUNCTION vitrine_touch_updated_at();
