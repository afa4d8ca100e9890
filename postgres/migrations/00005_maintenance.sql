-- Maintenance: a flag, kept in the database, that pauses every image write for a short
-- window while reads go on (`vitrine migrate adopt` sets it while it builds the unique index
-- on (product_id, image_order)). A refused write raises SQLSTATE VT503, which the API answers
-- with 503 and Retry-After.
--
-- The flag is the one row of vitrine_maintenance, active until it is deleted or until its
-- expires_at passes, so a process that dies with the flag set cannot pause writes for long.
-- A check is one read of that row, by a statement trigger; it costs writers no lock. Whoever
-- sets the flag then takes
-- product_images in SHARE mode once (and lets go), which waits for every transaction that has
-- written to the table to end; a transaction that passed the check but has not written yet
-- meets the statement trigger below, which sees the flag. After that, no transaction that
-- passed the check is still writing. (A shared advisory lock taken by every write did the
-- same, at about 5% of locked-insert throughput.)
--
-- Every statement here may run twice: `vitrine migrate adopt` applies this file's Up section
-- itself before goose records it.

-- +goose Up
CREATE TABLE IF NOT EXISTS vitrine_maintenance (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    reason     text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- vitrine_refuse_during_maintenance is the statement trigger that makes every write to
-- product_images check the flag, however it reaches the table (the API, the legacy design's
-- RPCs, PostgREST, psql): the one place the flag is checked. A gallery write is refused at its
-- first statement on product_images, before Vitrine publishes any object for it. It reads the
-- flag as its owner, so writers need no access to the table.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vitrine_refuse_during_maintenance() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    v_reason text;
BEGIN
    SELECT reason INTO v_reason FROM vitrine_maintenance WHERE expires_at > clock_timestamp();
    IF FOUND THEN
        RAISE EXCEPTION 'image writes are paused for maintenance (%); retry in a few seconds', v_reason
            USING ERRCODE = 'VT503';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE OR REPLACE TRIGGER product_images_maintenance
    BEFORE INSERT OR UPDATE OR DELETE ON product_images
    FOR EACH STATEMENT EXECUTE FUNCTION vitrine_refuse_during_maintenance();

-- +goose Down
DROP TRIGGER product_images_maintenance ON product_images;
DROP FUNCTION vitrine_refuse_during_maintenance();
DROP TABLE vitrine_maintenance;
