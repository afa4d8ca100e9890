-- A bulk import's line records its outcome: 'admitted' now means that its image is being
-- fetched, and the line becomes 'done' when the image is published (or deleted meanwhile), or
-- 'failed', with the image's error code and message, when the fetch fails; a retried image's
-- line is 'admitted' again. Until now an import's progress was computed from every one of its
-- lines joined to its image, which cost a progress bar's read a few milliseconds for each
-- thousand lines and held a bulk import's job to the same work on every batch; now a read
-- counts the import's lines by state, and the job looks only at the lines being fetched.
--
-- A trigger on product_images keeps the lines in step with their images, whoever changes
-- them. A line admitted onto an image that existed already (a feed sent again) can miss the
-- trigger, when the image's fetch ends while the line is being admitted, or the image is
-- deleted meanwhile: the import's job settles the lines being fetched whose image is no longer
-- importing (settleImportLines in postgres/bulk_imports.go) before it counts them, so that no
-- line stays admitted after its image is done.
--
-- The migration runs on a serving database: the locks of its tables are taken at once
-- (vitrine_lock_at_once, 00016), product_images' first: a deletion of an image writes
-- vitrine_import_lines (image_id is set to NULL) after product_images, so the other order
-- could deadlock with it; and no transaction that holds a lock on vitrine_import_lines
-- waits for a write on product_images.

-- +goose Up
SELECT vitrine_lock_at_once('product_images', 'SHARE ROW EXCLUSIVE');
SELECT vitrine_lock_at_once('vitrine_import_lines', 'ACCESS EXCLUSIVE');
ALTER TABLE vitrine_import_lines DROP CONSTRAINT vitrine_import_lines_state_check;
ALTER TABLE vitrine_import_lines ADD CONSTRAINT vitrine_import_lines_state_check
    CHECK (state IN ('queued', 'admitted', 'done', 'failed'));

-- The lines admitted so far take the outcome of their images.
UPDATE vitrine_import_lines AS l
SET state = CASE WHEN im.import_status = 'failed' THEN 'failed' ELSE 'done' END,
    error_code = CASE WHEN im.import_status = 'failed' THEN coalesce(im.import_error_code, 'internal') END,
    error_message = CASE WHEN im.import_status = 'failed' THEN coalesce(im.import_error, '') END
FROM vitrine_import_lines AS s LEFT JOIN product_images AS im ON im.id = s.image_id
WHERE s.state = 'admitted' AND im.import_status IS DISTINCT FROM 'importing'
  AND l.import_id = s.import_id AND l.line = s.line;

-- An import's lines being fetched, and its failed lines in order, are read through these.
CREATE INDEX vitrine_import_lines_admitted ON vitrine_import_lines (import_id) WHERE state = 'admitted';
CREATE INDEX vitrine_import_lines_failed ON vitrine_import_lines (import_id, line) WHERE state = 'failed';

-- +goose StatementBegin
CREATE FUNCTION vitrine_import_line_outcome() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF NEW.import_status IS NULL THEN
        UPDATE vitrine_import_lines SET state = 'done' WHERE image_id = NEW.id AND state = 'admitted';
    ELSIF NEW.import_status = 'failed' THEN
        UPDATE vitrine_import_lines
        SET state = 'failed', error_code = coalesce(NEW.import_error_code, 'internal'), error_message = coalesce(NEW.import_error, '')
        WHERE image_id = NEW.id AND state = 'admitted';
    ELSIF NEW.import_status = 'importing' THEN
        -- Retried: the line's fetch is running again.
        UPDATE vitrine_import_lines SET state = 'admitted', error_code = NULL, error_message = NULL
        WHERE image_id = NEW.id AND state = 'failed';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vitrine_import_line_outcome() FROM PUBLIC;
CREATE TRIGGER product_images_import_lines AFTER UPDATE OF import_status ON product_images
    FOR EACH ROW WHEN (OLD.import_status IS DISTINCT FROM NEW.import_status)
    EXECUTE FUNCTION vitrine_import_line_outcome();

-- +goose Down
SELECT vitrine_lock_at_once('product_images', 'SHARE ROW EXCLUSIVE');
SELECT vitrine_lock_at_once('vitrine_import_lines', 'ACCESS EXCLUSIVE');
DROP TRIGGER product_images_import_lines ON product_images;
DROP FUNCTION vitrine_import_line_outcome();
DROP INDEX vitrine_import_lines_failed;
DROP INDEX vitrine_import_lines_admitted;
-- Before, a line named its image from its admission on, and took the image's outcome when read.
UPDATE vitrine_import_lines SET state = 'admitted', error_code = NULL, error_message = NULL
WHERE state = 'done' OR (state = 'failed' AND image_id IS NOT NULL);
ALTER TABLE vitrine_import_lines DROP CONSTRAINT vitrine_import_lines_state_check;
ALTER TABLE vitrine_import_lines ADD CONSTRAINT vitrine_import_lines_state_check
    CHECK (state IN ('queued', 'admitted', 'failed'));
