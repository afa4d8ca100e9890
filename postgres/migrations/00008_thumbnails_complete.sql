-- One definition of a complete thumbnail record: the thumbnails map has the desktop preset and
-- thumbnail_url is set. Every query that asks whether an image's thumbnails are done, or
-- may still be filled, calls vitrine_thumbnails_complete rather than spelling the rule out.
--
-- Every statement here may run twice: `vitrine migrate adopt` applies this file's Up section
-- itself before goose records it, since the API it keeps serving during the adoption reads
-- images through the function.

-- +goose Up
-- vitrine_thumbnails_complete reports whether a row's thumbnail record is complete; a NULL
-- record is incomplete (false, never NULL).
CREATE OR REPLACE FUNCTION vitrine_thumbnails_complete(p_thumbnails jsonb, p_thumbnail_url text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(p_thumbnails ? 'desktop' AND p_thumbnail_url IS NOT NULL, false);

-- +goose Down
DROP FUNCTION vitrine_thumbnails_complete(jsonb, text);
