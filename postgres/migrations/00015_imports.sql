-- Bulk imports of images by URL, and products named by the supplier's own reference.
--
-- products.external_ref is the supplier's reference of a product (a SKU, a feed's id), unique
-- per supplier; a feed line may name its product by it, and the import creates the product
-- when the supplier has none with that reference. The row-level security of 00003 applies to
-- the whole row, so the reference is read and changed under the same rules as the product.
--
-- vitrine_imports is one import (POST /v1/imports, `vitrine import`): who sent it, how many
-- lines it had, and when it finished. vitrine_import_lines holds its lines as they were
-- parsed: a line that could not be parsed is stored failed, with its error; a good one is
-- queued until the import's job admits it (creates its importing image, which enqueues the
-- fetch), then names that image. An import's progress is read from its lines and their
-- images. Imports are tenant data: a supplier reads only its own imports (forced row-level
-- security), the service role every one; the lines follow their import.

-- `vitrine migrate adopt` adds external_ref (with the same constraint) before the API it keeps
-- serving reads products, so it is added here only where it is missing. The indexes on the
-- existing tables are built concurrently, so that writers of products and images are not held
-- up (hence no transaction); the new tables, their policies and grants are made by one
-- statement, so all at once or not at all. Every statement may run twice.

-- +goose NO TRANSACTION
-- +goose Up
ALTER TABLE products ADD COLUMN IF NOT EXISTS external_ref text
    CONSTRAINT products_external_ref_check CHECK (char_length(external_ref) >= 1 AND char_length(external_ref) <= 200);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS products_supplier_external_ref ON products (supplier_id, external_ref)
    WHERE external_ref IS NOT NULL;
-- An import's job counts its images being fetched many times a second: from the few images
-- being fetched (this index) to their lines, not from every line of the import.
CREATE INDEX CONCURRENTLY IF NOT EXISTS product_images_importing ON product_images (id) WHERE import_status = 'importing';

-- +goose StatementBegin
DO $$
BEGIN
IF to_regclass('vitrine_imports') IS NULL THEN
    CREATE TABLE vitrine_imports (
        id          uuid PRIMARY KEY,
        supplier_id uuid,            -- whose products the lines may name; NULL: the service's import
        lines       integer NOT NULL CHECK (lines >= 0),
        created_at  timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz      -- every line admitted or failed, and every admitted image done
    );
    CREATE INDEX vitrine_imports_supplier_unfinished ON vitrine_imports (supplier_id) WHERE finished_at IS NULL;

    CREATE TABLE vitrine_import_lines (
        import_id     uuid NOT NULL REFERENCES vitrine_imports (id) ON DELETE CASCADE,
        line          integer NOT NULL CHECK (line >= 1),
        state         text NOT NULL CHECK (state IN ('queued', 'admitted', 'failed')),
        product_id    uuid,
        external_ref  text,
        source_url    text,
        alt           text NOT NULL DEFAULT '',
        position      integer CHECK (position >= 0),
        image_id      uuid REFERENCES product_images (id) ON DELETE SET NULL,
        error_code    text,
        error_message text,
        PRIMARY KEY (import_id, line),
        CHECK ((state = 'failed') = (error_code IS NOT NULL))
    );
    CREATE INDEX vitrine_import_lines_queued ON vitrine_import_lines (import_id, position, line) WHERE state = 'queued';
    CREATE INDEX vitrine_import_lines_image ON vitrine_import_lines (image_id) WHERE image_id IS NOT NULL;

    ALTER TABLE vitrine_imports ENABLE ROW LEVEL SECURITY;
    ALTER TABLE vitrine_imports FORCE ROW LEVEL SECURITY;
    ALTER TABLE vitrine_import_lines ENABLE ROW LEVEL SECURITY;
    ALTER TABLE vitrine_import_lines FORCE ROW LEVEL SECURITY;

    CREATE POLICY imports_supplier ON vitrine_imports FOR ALL TO authenticated
        USING (supplier_id = vitrine_uid()) WITH CHECK (supplier_id = vitrine_uid());
    CREATE POLICY imports_service ON vitrine_imports FOR ALL TO service_role USING (true) WITH CHECK (true);
    CREATE POLICY import_lines_supplier ON vitrine_import_lines FOR ALL TO authenticated
        USING (EXISTS (SELECT 1 FROM vitrine_imports i WHERE i.id = import_id AND i.supplier_id = vitrine_uid()))
        WITH CHECK (EXISTS (SELECT 1 FROM vitrine_imports i WHERE i.id = import_id AND i.supplier_id = vitrine_uid()));
    CREATE POLICY import_lines_service ON vitrine_import_lines FOR ALL TO service_role USING (true) WITH CHECK (true);

    GRANT SELECT, INSERT, UPDATE, DELETE ON vitrine_imports, vitrine_import_lines TO authenticated, service_role;
    -- Anonymous callers have no policy: they read no import (404, as for another supplier's).
    GRANT SELECT ON vitrine_imports, vitrine_import_lines TO anon;
END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE IF EXISTS vitrine_import_lines;
DROP TABLE IF EXISTS vitrine_imports;
DROP INDEX CONCURRENTLY IF EXISTS product_images_importing;
DROP INDEX CONCURRENTLY IF EXISTS products_supplier_external_ref;
ALTER TABLE products DROP COLUMN IF EXISTS external_ref;
