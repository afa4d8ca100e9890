-- Thumbnails: the variants a job made for an image, how the API reports the job's progress,
-- and the legacy design's set_main_thumbnails RPC. River's own tables (river_job, ...) are
-- created by River's migrations, which Vitrine runs before these.

-- +goose Up

-- vitrine_variant_keys lists the object keys of a variants record
-- ({preset: {format: {key, url, width, height, bytes}}}).
-- +goose StatementBegin
CREATE FUNCTION vitrine_variant_keys(p_variants jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(f.value ->> 'key' ORDER BY f.value ->> 'key'), '{}')
    FROM jsonb_each(CASE WHEN jsonb_typeof(p_variants) = 'object' THEN p_variants ELSE '{}' END) AS p,
         jsonb_each(CASE WHEN jsonb_typeof(p.value) = 'object' THEN p.value ELSE '{}' END) AS f
    WHERE f.value ->> 'key' IS NOT NULL
$$;
-- +goose StatementEnd

ALTER TABLE product_images
    ADD COLUMN variants       jsonb,
    ADD COLUMN thumbhash      text,
    ADD COLUMN dominant_color text CHECK (dominant_color ~ '^#[0-9a-f]{6}$'),
    -- Every object key that the row's variants name, for "is this object still used?". Kept
    -- by the trigger below rather than GENERATED ... STORED: adding a stored generated column
    -- rewrites the whole table under an exclusive lock, which `vitrine migrate adopt` must not
    -- do to a live shop's table; a constant default is added without touching a row.
    ADD COLUMN variant_keys   text[] NOT NULL DEFAULT '{}';

-- vitrine_set_variant_keys derives variant_keys from variants on every write of either, so
-- no writer (PostgREST included) can make them disagree. A row without variants whose keys
-- are already empty is right as it is: the WHEN clause keeps plain inserts (the append hot
-- path) from calling it.
-- +goose StatementBegin
CREATE FUNCTION vitrine_set_variant_keys() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.variant_keys := vitrine_variant_keys(NEW.variants);
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER product_images_variant_keys BEFORE INSERT OR UPDATE OF variants, variant_keys ON product_images
    FOR EACH ROW WHEN (NEW.variants IS NOT NULL OR NEW.variant_keys <> '{}')
    EXECUTE FUNCTION vitrine_set_variant_keys();

CREATE INDEX product_images_variant_keys_idx ON product_images USING gin (variant_keys);
CREATE INDEX product_images_storage_path_idx ON product_images (storage_path);

-- image_thumbnail_jobs shows the thumbnail jobs of images, newest first per image.
CREATE VIEW image_thumbnail_jobs AS
SELECT (j.args ->> 'image_id')::uuid AS image_id,
       j.id                          AS job_id,
       j.args ->> 'source_sha256'    AS source_sha256,
       j.state::text                 AS state,
       j.attempt                     AS attempts,
       j.max_attempts,
       j.errors,
       j.created_at,
       j.finalized_at                AS finished_at
FROM river_job AS j
WHERE j.kind = 'thumbnail';

-- set_main_thumbnails is the legacy design's RPC, kept for existing callers: it records
-- thumbnails for the product's main image (order 0) unless that image already has a
-- complete record, and returns whether it changed the row. A product without images is
-- an error, never a silent no-op.
-- +goose StatementBegin
CREATE FUNCTION set_main_thumbnails(p_product_id uuid, p_desktop text, p_mobile text,
                                    p_tablet text, p_minithumb text)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM vitrine_lock_product(p_product_id);
    PERFORM vitrine_check_writable(p_product_id);
    SELECT id INTO v_id FROM product_images WHERE product_id = p_product_id AND image_order = 0;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'product % has no main image', p_product_id USING ERRCODE = 'VT404';
    END IF;
    UPDATE product_images
       SET thumbnails = jsonb_build_object('desktop', p_desktop, 'mobile', p_mobile,
                                           'tablet', p_tablet, 'minithumb', p_minithumb),
           thumbnail_url = p_desktop
     WHERE id = v_id
       AND (thumbnails IS NULL OR NOT (thumbnails ? 'desktop') OR thumbnail_url IS NULL);
    RETURN FOUND;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION set_main_thumbnails(uuid, text, text, text, text);
DROP VIEW image_thumbnail_jobs;
DROP INDEX product_images_storage_path_idx;
DROP INDEX product_images_variant_keys_idx;
DROP TRIGGER product_images_variant_keys ON product_images;
DROP FUNCTION vitrine_set_variant_keys();
ALTER TABLE product_images DROP COLUMN variant_keys, DROP COLUMN dominant_color,
    DROP COLUMN thumbhash, DROP COLUMN variants;
DROP FUNCTION vitrine_variant_keys(jsonb);
