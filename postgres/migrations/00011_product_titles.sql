-- Product titles and the product list.
--
-- A product gains a title (at most 200 characters, '' when none was given), which the
-- supplier's page shows and searches. The row-level security policies of 00003 apply to the
-- whole row, so the title is read and changed under the same rules as the rest of the product:
-- anonymous callers read the titles of published products, a supplier its own products' and
-- published ones', the service role every one. The legacy RPCs do not name the column, so
-- they keep working and leave it at its default.
--
-- GET /v1/products lists products newest first, by keyset pagination on (created_at, id):
-- products_created_at_id_idx serves that order for the service role and anonymous callers,
-- products_supplier_created_at_id_idx a supplier's own products. They are built
-- concurrently, so that writers of products are not held up (hence no transaction).
--
-- Every statement here may run twice: `vitrine migrate adopt` applies this file's Up section
-- itself before goose records it, since the API it keeps serving during the adoption reads
-- products with their title.

-- +goose NO TRANSACTION
-- +goose Up
ALTER TABLE products ADD COLUMN IF NOT EXISTS title text NOT NULL DEFAULT ''
    CONSTRAINT products_title_length CHECK (char_length(title) <= 200);
CREATE INDEX CONCURRENTLY IF NOT EXISTS products_created_at_id_idx ON products (created_at DESC, id DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS products_supplier_created_at_id_idx ON products (supplier_id, created_at DESC, id DESC);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS products_supplier_created_at_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS products_created_at_id_idx;
ALTER TABLE products DROP COLUMN IF EXISTS title;
