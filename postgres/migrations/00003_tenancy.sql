-- Tenancy: suppliers read and change only their own products' images, anonymous callers
-- read published galleries only, and the service role (workers, operators) may do
-- everything. This is enforced by PostgreSQL itself, with row-level security that is
-- enabled and FORCED on both tables, through the same roles and request.jwt.claims setting
-- that PostgREST and Supabase use, so the rules hold however the tables are reached.
--
-- Roles (cluster-wide, created when missing; Supabase has the first three already):
--   anon, authenticated, service_role  NOLOGIN; a request runs as one of them (SET LOCAL ROLE)
--   vitrine_app                        Vitrine's login role: not a superuser, not BYPASSRLS,
--                                      not the owner; member of the three above; it can touch
--                                      River's tables directly and the gallery only through
--                                      one of the three roles.
-- The tables' owner is whoever runs the migrations.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'vitrine_app'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created meanwhile by a migration of another database of the cluster
            END;
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd
-- Roles are shared by every database of the cluster, so two databases migrating at once
-- race on the same catalog rows ("tuple concurrently updated"). Change only what is
-- missing, and on that error look again: the other migration has done it meanwhile.
-- +goose StatementBegin
DO $$
DECLARE
    r text;
    attempt int := 0;
BEGIN
    LOOP
        BEGIN
            IF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'vitrine_app') THEN
                ALTER ROLE vitrine_app LOGIN;
            END IF;
            FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
                IF NOT pg_has_role('vitrine_app', r, 'MEMBER') THEN
                    EXECUTE format('GRANT %I TO vitrine_app', r);
                END IF;
            END LOOP;
            EXIT;
        EXCEPTION WHEN internal_error OR unique_violation THEN
            attempt := attempt + 1;
            IF attempt >= 10 THEN
                RAISE;
            END IF;
            PERFORM pg_sleep(0.05 * attempt);
        END;
    END LOOP;
END
$$;
-- +goose StatementEnd

ALTER TABLE products ADD COLUMN published boolean NOT NULL DEFAULT false;

ALTER TABLE products ENABLE ROW LEVEL SECURITY;
ALTER TABLE products FORCE ROW LEVEL SECURITY;
ALTER TABLE product_images ENABLE ROW LEVEL SECURITY;
ALTER TABLE product_images FORCE ROW LEVEL SECURITY;

CREATE POLICY products_anon_read ON products FOR SELECT TO anon USING (published);
CREATE POLICY products_supplier_read ON products FOR SELECT TO authenticated
    USING (published OR supplier_id = vitrine_uid());
CREATE POLICY products_supplier_insert ON products FOR INSERT TO authenticated
    WITH CHECK (supplier_id = vitrine_uid());
CREATE POLICY products_supplier_update ON products FOR UPDATE TO authenticated
    USING (supplier_id = vitrine_uid()) WITH CHECK (supplier_id = vitrine_uid());
CREATE POLICY products_supplier_delete ON products FOR DELETE TO authenticated
    USING (supplier_id = vitrine_uid());
CREATE POLICY products_service ON products FOR ALL TO service_role USING (true) WITH CHECK (true);

CREATE POLICY images_anon_read ON product_images FOR SELECT TO anon
    USING (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id AND p.published));
CREATE POLICY images_supplier_read ON product_images FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id
                   AND (p.published OR p.supplier_id = vitrine_uid())));
CREATE POLICY images_supplier_insert ON product_images FOR INSERT TO authenticated
    WITH CHECK (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id AND p.supplier_id = vitrine_uid()));
CREATE POLICY images_supplier_update ON product_images FOR UPDATE TO authenticated
    USING (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id AND p.supplier_id = vitrine_uid()))
    WITH CHECK (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id AND p.supplier_id = vitrine_uid()));
CREATE POLICY images_supplier_delete ON product_images FOR DELETE TO authenticated
    USING (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id AND p.supplier_id = vitrine_uid()));
CREATE POLICY images_service ON product_images FOR ALL TO service_role USING (true) WITH CHECK (true);

GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role, vitrine_app;
GRANT SELECT ON products, product_images TO anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON products, product_images TO authenticated, service_role;
GRANT SELECT ON image_thumbnail_jobs TO service_role;
-- vitrine_grant_river lets the login role (River's own connections) and the service role
-- (jobs enqueued inside a request's transaction switch to it) use River's tables. Vitrine
-- calls it after every migration, so tables that a newer River adds are granted too.
-- +goose StatementBegin
CREATE FUNCTION vitrine_grant_river() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'river\_%' LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO vitrine_app, service_role', t);
    END LOOP;
    FOR t IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() AND sequencename LIKE 'river\_%' LOOP
        EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %I TO vitrine_app, service_role', t);
    END LOOP;
END;
$$;
-- +goose StatementEnd
SELECT vitrine_grant_river();

-- vitrine_image_job reports the newest thumbnail job of an image. It reads River's table as
-- its owner, so callers need no access to River: they learn a job's state, attempts and
-- last error, and only for an image id they know (ids are random UUIDs).
-- +goose StatementBegin
CREATE FUNCTION vitrine_image_job(p_image_id uuid, OUT state text, OUT attempt integer, OUT last_error text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT j.state::text, j.attempt, j.errors[array_upper(j.errors, 1)] ->> 'error'
    FROM river_job AS j
    WHERE j.kind = 'thumbnail' AND j.args @> jsonb_build_object('image_id', p_image_id)
    ORDER BY j.id DESC LIMIT 1
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vitrine_image_job(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vitrine_image_job(uuid) TO anon, authenticated, service_role;

-- +goose Down
DROP FUNCTION vitrine_grant_river();
DROP FUNCTION vitrine_image_job(uuid);
DROP POLICY images_service ON product_images;
DROP POLICY images_supplier_delete ON product_images;
DROP POLICY images_supplier_update ON product_images;
DROP POLICY images_supplier_insert ON product_images;
DROP POLICY images_supplier_read ON product_images;
DROP POLICY images_anon_read ON product_images;
DROP POLICY products_service ON products;
DROP POLICY products_supplier_delete ON products;
DROP POLICY products_supplier_update ON products;
DROP POLICY products_supplier_insert ON products;
DROP POLICY products_supplier_read ON products;
DROP POLICY products_anon_read ON products;
ALTER TABLE product_images NO FORCE ROW LEVEL SECURITY;
ALTER TABLE product_images DISABLE ROW LEVEL SECURITY;
ALTER TABLE products NO FORCE ROW LEVEL SECURITY;
ALTER TABLE products DISABLE ROW LEVEL SECURITY;
ALTER TABLE products DROP COLUMN published;
