-- Supplier teams: a signed-in user may act for a supplier other than its own user id.
--
-- Until now the acting supplier was the token's sub (vitrine_uid()). It is now
-- vitrine_supplier(), derived from the request as PostgREST presents it:
--   1. the Vitrine-Supplier request header (request.headers ->> 'vitrine-supplier'), when
--      sent: it must name the supplier of the token's claim (below), the user's own id, or a
--      supplier of whose team supplier_members makes the user a member; any other supplier is
--      refused (VT403), never silently ignored, and a value that is not a UUID is invalid
--      (VT422);
--   2. else the token's supplier claim, when vitrine_settings names a claim path (such as
--      {app_metadata,supplier_id}, Supabase's claims that users cannot edit) and the claims
--      hold a UUID there;
--   3. else the token's sub, as before. A membership alone never changes what a request
--      without the header acts for.
-- An editor (and the supplier named by a claim or by the user's own id) reads and changes
-- the supplier's products; a viewer only reads them. vitrine_supplier_writable() is the
-- acting supplier when it may write, NULL otherwise.
--
-- The policies of 00003 and the checks of vitrine_check_writable and vitrine_append_image
-- (00001) are redefined with these functions, so the rule holds through PostgREST too.

-- +goose Up
-- vitrine_settings is one row of settings that SQL needs and the server's configuration
-- decides: supplier_claim is the path of the token's claim that names the acting supplier
-- (NULL: none). `vitrine serve` writes it at start-up (vitrine_set_supplier_claim, the only
-- writer); the request roles read it, as vitrine_acting_supplier runs as its caller.
CREATE TABLE vitrine_settings (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    supplier_claim text[] CHECK (cardinality(supplier_claim) > 0)
);
INSERT INTO vitrine_settings DEFAULT VALUES;
REVOKE ALL ON vitrine_settings FROM PUBLIC;
GRANT SELECT ON vitrine_settings TO anon, authenticated, service_role;

-- supplier_members is who may act for a supplier besides the supplier itself, kept by the
-- service role (`vitrine members`). A member reads its own rows; a supplier acting as itself
-- reads its team.
CREATE TABLE supplier_members (
    supplier_id uuid NOT NULL,
    user_id     uuid NOT NULL,
    role        text NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (supplier_id, user_id)
);
CREATE INDEX supplier_members_user_id_idx ON supplier_members (user_id);
ALTER TABLE supplier_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE supplier_members FORCE ROW LEVEL SECURITY;
CREATE POLICY members_read ON supplier_members FOR SELECT TO authenticated
    USING (user_id = vitrine_uid() OR supplier_id = vitrine_uid());
CREATE POLICY members_service ON supplier_members FOR ALL TO service_role USING (true) WITH CHECK (true);
GRANT SELECT ON supplier_members TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON supplier_members TO service_role;

-- vitrine_set_supplier_claim records the claim path (NULL or empty: none). The service role
-- may call it.
-- +goose StatementBegin
CREATE FUNCTION vitrine_set_supplier_claim(p_path text[]) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(p_path) AS s WHERE s IS NULL OR s = '') THEN
        RAISE EXCEPTION 'the supplier claim path has an empty part' USING ERRCODE = 'VT422';
    END IF;
    UPDATE vitrine_settings SET supplier_claim = nullif(p_path, '{}')
        WHERE supplier_claim IS DISTINCT FROM nullif(p_path, '{}');
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vitrine_set_supplier_claim(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vitrine_set_supplier_claim(text[]) TO service_role;

-- vitrine_acting_supplier is the supplier the request acts for and whether it may change
-- that supplier's products (see the top of this file); both NULL for a request without a
-- user. It raises VT403 for a header naming a supplier the user may not act for, VT422 for a
-- header that is not a UUID. It runs as its caller: a user reads its own memberships
-- (members_read), so it needs no privilege of the tables' owner, which row-level security
-- (forced) would bind unless it were a superuser.
-- +goose StatementBegin
CREATE FUNCTION vitrine_acting_supplier(OUT supplier_id uuid, OUT can_write boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_uid     uuid := vitrine_uid();
    v_path    text[];
    v_claimed uuid;
    v_header  text;
    v_wanted  uuid;
    v_role    text;
BEGIN
    IF v_uid IS NULL THEN
        RETURN;
    END IF;
    SELECT s.supplier_claim INTO v_path FROM vitrine_settings AS s;
    IF v_path IS NOT NULL AND vitrine_claims() #>> v_path
            ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        v_claimed := (vitrine_claims() #>> v_path)::uuid;
    END IF;
    v_header := btrim(nullif(current_setting('request.headers', true), '')::jsonb ->> 'vitrine-supplier');
    IF v_header IS NULL OR v_header = '' THEN
        supplier_id := coalesce(v_claimed, v_uid);
        can_write := true;
        RETURN;
    END IF;
    IF v_header !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'the Vitrine-Supplier header must be a supplier id (UUID)' USING ERRCODE = 'VT422';
    END IF;
    v_wanted := v_header::uuid;
    IF v_wanted = v_claimed OR v_wanted = v_uid THEN
        supplier_id := v_wanted;
        can_write := true;
        RETURN;
    END IF;
    SELECT m.role INTO v_role FROM supplier_members AS m
        WHERE m.supplier_id = v_wanted AND m.user_id = v_uid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'not a member of the team of supplier %', v_wanted USING ERRCODE = 'VT403';
    END IF;
    supplier_id := v_wanted;
    can_write := v_role <> 'viewer';
END;
$$;
-- +goose StatementEnd

-- vitrine_supplier is the supplier the request acts for, or NULL without a user.
-- +goose StatementBegin
CREATE FUNCTION vitrine_supplier() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT supplier_id FROM vitrine_acting_supplier()
$$;
-- +goose StatementEnd

-- vitrine_supplier_writable is the supplier the request acts for when it may change that
-- supplier's products (not as a viewer), NULL otherwise.
-- +goose StatementBegin
CREATE FUNCTION vitrine_supplier_writable() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT supplier_id FROM vitrine_acting_supplier() WHERE can_write
$$;
-- +goose StatementEnd
GRANT EXECUTE ON FUNCTION vitrine_acting_supplier(), vitrine_supplier(), vitrine_supplier_writable()
    TO anon, authenticated, service_role;

-- The policies of 00003, with the acting supplier instead of the user. Each function is
-- evaluated once per statement (a sub-select), not once per row.
-- Changing a policy locks its table exclusively. Requests take their locks on
-- product_images and products in either order, so both are taken at once
-- (vitrine_lock_at_once, 00016).
SELECT vitrine_lock_at_once('product_images, products', 'ACCESS EXCLUSIVE');
DROP POLICY products_supplier_read ON products;
DROP POLICY products_supplier_insert ON products;
DROP POLICY products_supplier_update ON products;
DROP POLICY products_supplier_delete ON products;
DROP POLICY images_supplier_read ON product_images;
DROP POLICY images_supplier_insert ON product_images;
DROP POLICY images_supplier_update ON product_images;
DROP POLICY images_supplier_delete ON product_images;
CREATE POLICY products_supplier_read ON products FOR SELECT TO authenticated
    USING (published OR supplier_id = (SELECT vitrine_supplier()));
CREATE POLICY products_supplier_insert ON products FOR INSERT TO authenticated
    WITH CHECK (supplier_id = (SELECT vitrine_supplier_writable()));
CREATE POLICY products_supplier_update ON products FOR UPDATE TO authenticated
    USING (supplier_id = (SELECT vitrine_supplier_writable()))
    WITH CHECK (supplier_id = (SELECT vitrine_supplier_writable()));
CREATE POLICY products_supplier_delete ON products FOR DELETE TO authenticated
    USING (supplier_id = (SELECT vitrine_supplier_writable()));
CREATE POLICY images_supplier_read ON product_images FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id
                   AND (p.published OR p.supplier_id = (SELECT vitrine_supplier()))));
CREATE POLICY images_supplier_insert ON product_images FOR INSERT TO authenticated
    WITH CHECK (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id
                        AND p.supplier_id = (SELECT vitrine_supplier_writable())));
CREATE POLICY images_supplier_update ON product_images FOR UPDATE TO authenticated
    USING (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id
                   AND p.supplier_id = (SELECT vitrine_supplier_writable())))
    WITH CHECK (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id
                        AND p.supplier_id = (SELECT vitrine_supplier_writable())));
CREATE POLICY images_supplier_delete ON product_images FOR DELETE TO authenticated
    USING (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id
                   AND p.supplier_id = (SELECT vitrine_supplier_writable())));

-- vitrine_check_writable and vitrine_append_image as in 00001, deciding by the acting
-- supplier: a viewer sees the product but may not change it (VT403).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vitrine_check_writable(p_product_id uuid) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_owner uuid;
BEGIN
    SELECT supplier_id INTO v_owner FROM products WHERE id = p_product_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'product % does not exist', p_product_id USING ERRCODE = 'VT404';
    END IF;
    IF current_user IN ('anon', 'authenticated') AND v_owner IS DISTINCT FROM vitrine_supplier_writable() THEN
        RAISE EXCEPTION 'not allowed to change the images of product %', p_product_id USING ERRCODE = 'VT403';
    END IF;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vitrine_append_image(
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
    IF current_user IN ('anon', 'authenticated') AND v_owner IS DISTINCT FROM vitrine_supplier_writable() THEN
        RAISE EXCEPTION 'not allowed to change the images of product %', p_product_id USING ERRCODE = 'VT403';
    END IF;
    IF p_supplier_id IS NOT NULL AND v_owner <> p_supplier_id THEN
        RAISE EXCEPTION 'supplier % does not own product %', p_supplier_id, p_product_id
            USING ERRCODE = 'VT403';
    END IF;
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

-- +goose Down
SELECT vitrine_lock_at_once('product_images, products', 'ACCESS EXCLUSIVE');
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vitrine_check_writable(p_product_id uuid) RETURNS void
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
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vitrine_append_image(
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
DROP POLICY products_supplier_read ON products;
DROP POLICY products_supplier_insert ON products;
DROP POLICY products_supplier_update ON products;
DROP POLICY products_supplier_delete ON products;
DROP POLICY images_supplier_read ON product_images;
DROP POLICY images_supplier_insert ON product_images;
DROP POLICY images_supplier_update ON product_images;
DROP POLICY images_supplier_delete ON product_images;
CREATE POLICY products_supplier_read ON products FOR SELECT TO authenticated
    USING (published OR supplier_id = vitrine_uid());
CREATE POLICY products_supplier_insert ON products FOR INSERT TO authenticated
    WITH CHECK (supplier_id = vitrine_uid());
CREATE POLICY products_supplier_update ON products FOR UPDATE TO authenticated
    USING (supplier_id = vitrine_uid()) WITH CHECK (supplier_id = vitrine_uid());
CREATE POLICY products_supplier_delete ON products FOR DELETE TO authenticated
    USING (supplier_id = vitrine_uid());
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
DROP FUNCTION vitrine_supplier_writable();
DROP FUNCTION vitrine_supplier();
DROP FUNCTION vitrine_acting_supplier();
DROP FUNCTION vitrine_set_supplier_claim(text[]);
DROP TABLE supplier_members;
DROP TABLE vitrine_settings;
