-- Objects: every object a row stops using is recorded, in the same transaction, in an outbox
-- that a worker empties; direct uploads in flight; and the reconciler's record of its runs.
--
-- The outbox is filled by triggers, so it catches every way a row goes or changes: Vitrine's
-- own writes, a product deleted with its images (ON DELETE CASCADE fires the image rows'
-- triggers), and plain SQL or PostgREST writes that never pass through Vitrine. A key in the
-- outbox is only a candidate: the worker deletes the object only if, under the key's lock, no
-- row refers to it any more (the same bytes may be used by another image).

-- +goose Up
CREATE TABLE vitrine_object_outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text NOT NULL,
    enqueued_at timestamptz NOT NULL DEFAULT now()
);

-- Direct uploads: the client PUTs its file to object_key (a staging key) with a presigned URL,
-- then asks Vitrine to complete the upload. A pending upload's staging object is in use until
-- it expires; deleting the row (completed or expired) sends the staging object to the outbox.
CREATE TABLE vitrine_uploads (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id  uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    object_key  text NOT NULL UNIQUE,
    alt         text NOT NULL DEFAULT '' CHECK (char_length(alt) <= 1000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX vitrine_uploads_expires_at_idx ON vitrine_uploads (expires_at);
CREATE INDEX vitrine_uploads_product_id_idx ON vitrine_uploads (product_id);

-- vitrine_outbox_image_keys sends to the outbox the keys an image row no longer names: all of
-- them when the row is deleted, those the new version drops when it is updated.
-- +goose StatementBegin
CREATE FUNCTION vitrine_outbox_image_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    kept text[] := '{}';
BEGIN
    IF TG_OP = 'UPDATE' THEN
        kept := array_append(NEW.variant_keys, NEW.storage_path);
    END IF;
    INSERT INTO vitrine_object_outbox (key)
    SELECT DISTINCT k FROM unnest(array_append(OLD.variant_keys, OLD.storage_path)) AS k
    WHERE k IS NOT NULL AND k <> '' AND NOT (k = ANY (kept));
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER product_images_outbox_delete AFTER DELETE ON product_images
    FOR EACH ROW EXECUTE FUNCTION vitrine_outbox_image_keys();
CREATE TRIGGER product_images_outbox_update AFTER UPDATE OF storage_path, variants ON product_images
    FOR EACH ROW
    WHEN (OLD.storage_path IS DISTINCT FROM NEW.storage_path OR OLD.variant_keys IS DISTINCT FROM NEW.variant_keys)
    EXECUTE FUNCTION vitrine_outbox_image_keys();

-- +goose StatementBegin
CREATE FUNCTION vitrine_outbox_upload_key() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO vitrine_object_outbox (key) VALUES (OLD.object_key);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER vitrine_uploads_outbox_delete AFTER DELETE ON vitrine_uploads
    FOR EACH ROW EXECUTE FUNCTION vitrine_outbox_upload_key();

-- vitrine_keys_in_use returns those of p_keys that a row refers to: an image's original or
-- one of its variants, or the staging object of an upload that has not expired. The caller
-- holds the keys' locks (see the Go side), so the answer stays true until it commits. Each
-- side is one set-based lookup for all the keys (the variants' through their GIN index with
-- &&): a per-key EXISTS on variant_keys @> ARRAY[k] is planned as a sequential scan that
-- stops at the first match, which costs a whole table scan for every key that is unused.
-- +goose StatementBegin
CREATE FUNCTION vitrine_keys_in_use(p_keys text[]) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT k FROM unnest(p_keys) AS k
    WHERE k IN (SELECT storage_path FROM product_images WHERE storage_path = ANY (p_keys))
       OR k IN (SELECT v FROM product_images, unnest(variant_keys) AS v WHERE variant_keys && p_keys)
       OR k IN (SELECT object_key FROM vitrine_uploads WHERE object_key = ANY (p_keys) AND expires_at > now())
$$;
-- +goose StatementEnd

-- The reconciler's runs: one row per run, written when it starts and when it ends. A run
-- still 'running' when the next one starts was killed, and is marked 'interrupted' then.
CREATE TABLE vitrine_purge_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
    trigger         text NOT NULL CHECK (trigger IN ('command', 'schedule')),
    dry_run         boolean NOT NULL,
    grace           interval NOT NULL,
    prefix          text NOT NULL DEFAULT '',
    objects_scanned bigint NOT NULL DEFAULT 0,
    bytes_scanned   bigint NOT NULL DEFAULT 0,
    referenced      bigint NOT NULL DEFAULT 0,
    orphans         bigint NOT NULL DEFAULT 0,
    too_young       bigint NOT NULL DEFAULT 0,
    deleted         bigint NOT NULL DEFAULT 0,
    bytes_reclaimed bigint NOT NULL DEFAULT 0,
    kept_in_use     bigint NOT NULL DEFAULT 0,
    sample_keys     text[] NOT NULL DEFAULT '{}',
    error           text
);
CREATE INDEX vitrine_purge_runs_finished_idx ON vitrine_purge_runs (finished_at DESC) WHERE status = 'completed';

-- Only the service role (workers, operators) touches these tables; suppliers reach uploads
-- through Vitrine, which checks ownership of the product under row-level security first.
GRANT SELECT, INSERT, UPDATE, DELETE ON vitrine_object_outbox, vitrine_uploads, vitrine_purge_runs TO service_role;

-- +goose Down
DROP TABLE vitrine_purge_runs;
DROP FUNCTION vitrine_keys_in_use(text[]);
DROP TRIGGER vitrine_uploads_outbox_delete ON vitrine_uploads;
DROP FUNCTION vitrine_outbox_upload_key();
DROP TRIGGER product_images_outbox_update ON product_images;
DROP TRIGGER product_images_outbox_delete ON product_images;
DROP FUNCTION vitrine_outbox_image_keys();
DROP TABLE vitrine_uploads;
DROP TABLE vitrine_object_outbox;
