-- Live status: every change to a gallery or a product is recorded as an event row, whoever
-- made it (Vitrine, the legacy design's RPCs, plain SQL, PostgREST), so that GET
-- /v1/products/{id}/events can stream them and replay the ones a client missed.
--
-- vitrine_events holds one row per image and kind of change, numbered per product by seq.
-- seq comes from the product's counter row in vitrine_event_heads, updated in the writing
-- transaction: its row lock is held to commit, so for one product seq increases in commit
-- order, and a reader that has seen seq n has seen every event up to n once n is committed.
-- Gallery writes to one product are serialised by the product's advisory lock already
-- (00001), so the counter adds no wait between them; writers to different products share
-- no row.
--
-- Waking the readers: a transaction that set the transaction-local setting vitrine.notify to
-- 'after_commit' (Vitrine's own gallery writes) does not notify; its process sends one
-- coalesced pg_notify('vitrine_events', ...) after the commit. Any other writer notifies from
-- the trigger, inside its transaction, but only for products some stream watches
-- (vitrine_event_watch, kept by the serving processes): a transaction that notifies takes
-- PostgreSQL's global notify lock at commit and holds it across its WAL flush, so notifying
-- for products nobody watches would serialise every unmarked writer's commits for nothing.
-- The serving processes also re-read the heads of the products they watch every few seconds.
--
-- Events are kept for an hour (vitrine_expire_events, run by the periodic maintenance).

-- +goose Up
CREATE TABLE vitrine_event_heads (
    product_id uuid PRIMARY KEY,
    seq        bigint NOT NULL CHECK (seq >= 0)
);

CREATE TABLE vitrine_events (
    product_id uuid NOT NULL,
    seq        bigint NOT NULL CHECK (seq > 0),
    image_id   uuid,
    change     text NOT NULL CHECK (change IN ('created', 'alt', 'moved', 'deleted', 'status', 'thumbnails',
                                               'published', 'title')),
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (product_id, seq)
);
-- Rows are appended in time order: a BRIN index finds the old ones for the expiry at almost
-- no cost to inserts.
CREATE INDEX vitrine_events_at_idx ON vitrine_events USING brin (at);

-- The products a serving process streams, until a moment it pushes forward while it watches.
-- Unlogged: after a crash it is empty, and the processes fill it again within seconds.
CREATE UNLOGGED TABLE vitrine_event_watch (
    product_id uuid PRIMARY KEY,
    until      timestamptz NOT NULL
);

CREATE TYPE vitrine_event_draft AS (product_id uuid, image_id uuid, change text);

-- vitrine_emit_events numbers and records drafts (in their order, per product), and notifies
-- unless the transaction said it notifies after its commit. It runs on every gallery write,
-- so the usual case (one product) takes a short path. The counter rows of several products
-- are locked in product order, so two writers of several products cannot deadlock on them.
-- It runs with its caller's rights: the triggers' (the tables' owner) or the service role's.
-- +goose StatementBegin
CREATE FUNCTION vitrine_emit_events(p_drafts vitrine_event_draft[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_n int := cardinality(p_drafts);
    v_product uuid;
    v_head bigint;
    v_watched text;
BEGIN
    IF v_n IS NULL OR v_n = 0 THEN
        RETURN;
    END IF;
    v_product := p_drafts[1].product_id;
    IF v_n = 1 OR NOT EXISTS (SELECT 1 FROM unnest(p_drafts) AS u WHERE u.product_id <> v_product) THEN
        INSERT INTO vitrine_event_heads AS h (product_id, seq) VALUES (v_product, v_n)
        ON CONFLICT (product_id) DO UPDATE SET seq = h.seq + v_n
        RETURNING h.seq INTO v_head;
        IF v_n = 1 THEN
            INSERT INTO vitrine_events (product_id, seq, image_id, change)
            VALUES (v_product, v_head, p_drafts[1].image_id, p_drafts[1].change);
        ELSE
            INSERT INTO vitrine_events (product_id, seq, image_id, change)
            SELECT v_product, v_head - v_n + u.ord, u.image_id, u.change
            FROM unnest(p_drafts) WITH ORDINALITY AS u(product_id, image_id, change, ord);
        END IF;
        IF current_setting('vitrine.notify', true) IS DISTINCT FROM 'after_commit'
           AND EXISTS (SELECT 1 FROM vitrine_event_watch WHERE product_id = v_product AND until > now()) THEN
            PERFORM pg_notify('vitrine_events', v_product::text);
        END IF;
        RETURN;
    END IF;
    WITH d AS (
        SELECT u.product_id, u.image_id, u.change,
               row_number() OVER (PARTITION BY u.product_id ORDER BY u.ord) AS k,
               count(*) OVER (PARTITION BY u.product_id) AS n
        FROM unnest(p_drafts) WITH ORDINALITY AS u(product_id, image_id, change, ord)
    ), heads AS (
        INSERT INTO vitrine_event_heads AS h (product_id, seq)
        SELECT DISTINCT ON (product_id) product_id, n FROM d ORDER BY product_id
        ON CONFLICT (product_id) DO UPDATE SET seq = h.seq + excluded.seq
        RETURNING h.product_id, h.seq
    )
    INSERT INTO vitrine_events (product_id, seq, image_id, change)
    SELECT d.product_id, heads.seq - d.n + d.k, d.image_id, d.change
    FROM d JOIN heads USING (product_id);

    IF current_setting('vitrine.notify', true) IS DISTINCT FROM 'after_commit' THEN
        SELECT string_agg(DISTINCT w.product_id::text, ',') INTO v_watched
        FROM unnest(p_drafts) AS u JOIN vitrine_event_watch AS w USING (product_id)
        WHERE w.until > now();
        IF v_watched IS NOT NULL THEN
            PERFORM pg_notify('vitrine_events', CASE WHEN length(v_watched) > 7000 THEN '*' ELSE v_watched END);
        END IF;
    END IF;
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vitrine_emit_events(vitrine_event_draft[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vitrine_emit_events(vitrine_event_draft[]) TO service_role;

-- +goose StatementBegin
CREATE FUNCTION vitrine_images_inserted_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM vitrine_emit_events(ARRAY(
        SELECT ROW(n.product_id, n.id, 'created')::vitrine_event_draft FROM new_rows AS n ORDER BY n.image_order));
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- An image's row changed: one event per image and kind of change. Only image_order, alt and
-- the thumbnail columns make events; updated_at and the rest do not.
-- +goose StatementBegin
CREATE FUNCTION vitrine_images_updated_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM vitrine_emit_events(ARRAY(
        SELECT ROW(n.product_id, n.id, c.change)::vitrine_event_draft
        FROM old_rows AS o JOIN new_rows AS n USING (id)
        CROSS JOIN LATERAL (VALUES
            (1, 'moved', o.image_order IS DISTINCT FROM n.image_order OR o.product_id IS DISTINCT FROM n.product_id),
            (2, 'alt', o.alt IS DISTINCT FROM n.alt),
            (3, 'thumbnails', o.thumbnails IS DISTINCT FROM n.thumbnails OR o.thumbnail_url IS DISTINCT FROM n.thumbnail_url
                OR o.variants IS DISTINCT FROM n.variants OR o.thumbhash IS DISTINCT FROM n.thumbhash
                OR o.dominant_color IS DISTINCT FROM n.dominant_color)
        ) AS c(k, change, changed)
        WHERE c.changed
        ORDER BY n.image_order, c.k));
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vitrine_images_deleted_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM vitrine_emit_events(ARRAY(
        SELECT ROW(o.product_id, o.id, 'deleted')::vitrine_event_draft FROM old_rows AS o ORDER BY o.image_order));
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- A product's row changed: published, and title when the table has one (read through
-- to_jsonb, so that this works with or without the column).
-- +goose StatementBegin
CREATE FUNCTION vitrine_products_updated_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM vitrine_emit_events(ARRAY(
        SELECT ROW(n.id, NULL::uuid, c.change)::vitrine_event_draft
        FROM old_rows AS o JOIN new_rows AS n USING (id)
        CROSS JOIN LATERAL (VALUES
            (1, 'published', o.published IS DISTINCT FROM n.published),
            (2, 'title', to_jsonb(o) -> 'title' IS DISTINCT FROM to_jsonb(n) -> 'title')
        ) AS c(k, change, changed)
        WHERE c.changed
        ORDER BY n.id, c.k));
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vitrine_products_deleted_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM vitrine_emit_events(ARRAY(
        SELECT ROW(o.id, NULL::uuid, 'deleted')::vitrine_event_draft FROM old_rows AS o));
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER product_images_inserted_events AFTER INSERT ON product_images
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vitrine_images_inserted_events();
CREATE TRIGGER product_images_updated_events AFTER UPDATE ON product_images
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vitrine_images_updated_events();
CREATE TRIGGER product_images_deleted_events AFTER DELETE ON product_images
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION vitrine_images_deleted_events();
CREATE TRIGGER products_updated_events AFTER UPDATE ON products
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vitrine_products_updated_events();
CREATE TRIGGER products_deleted_events AFTER DELETE ON products
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION vitrine_products_deleted_events();

-- Callers read the events of the products they may read, as they read the products.
ALTER TABLE vitrine_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE vitrine_events FORCE ROW LEVEL SECURITY;
CREATE POLICY events_read ON vitrine_events FOR SELECT TO anon, authenticated
    USING (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id));
CREATE POLICY events_service ON vitrine_events FOR ALL TO service_role USING (true) WITH CHECK (true);
ALTER TABLE vitrine_event_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE vitrine_event_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY event_heads_read ON vitrine_event_heads FOR SELECT TO anon, authenticated
    USING (EXISTS (SELECT 1 FROM products p WHERE p.id = product_id));
CREATE POLICY event_heads_service ON vitrine_event_heads FOR ALL TO service_role USING (true) WITH CHECK (true);
GRANT SELECT ON vitrine_events, vitrine_event_heads TO anon, authenticated, service_role;
GRANT INSERT, DELETE ON vitrine_events TO service_role;
GRANT INSERT, UPDATE, DELETE ON vitrine_event_heads TO service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON vitrine_event_watch TO service_role;

-- vitrine_expire_events deletes up to p_limit events older than p_age, and the counters of
-- products that no longer exist and have no events left; it returns how many events it
-- deleted (fewer than p_limit: none older is left).
-- +goose StatementBegin
CREATE FUNCTION vitrine_expire_events(p_age interval, p_limit integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    v_deleted bigint;
BEGIN
    DELETE FROM vitrine_events WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM vitrine_events WHERE at < now() - p_age LIMIT p_limit));
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    DELETE FROM vitrine_event_heads AS h WHERE h.product_id IN (
        SELECT h2.product_id FROM vitrine_event_heads AS h2
        WHERE NOT EXISTS (SELECT 1 FROM products AS p WHERE p.id = h2.product_id)
          AND NOT EXISTS (SELECT 1 FROM vitrine_events AS e WHERE e.product_id = h2.product_id)
        LIMIT p_limit);
    DELETE FROM vitrine_event_watch WHERE until < now() - interval '1 minute';
    RETURN v_deleted;
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vitrine_expire_events(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vitrine_expire_events(interval, integer) TO service_role;

-- +goose Down
DROP FUNCTION vitrine_expire_events(interval, integer);
DROP TRIGGER products_deleted_events ON products;
DROP TRIGGER products_updated_events ON products;
DROP TRIGGER product_images_deleted_events ON product_images;
DROP TRIGGER product_images_updated_events ON product_images;
DROP TRIGGER product_images_inserted_events ON product_images;
DROP FUNCTION vitrine_products_deleted_events();
DROP FUNCTION vitrine_products_updated_events();
DROP FUNCTION vitrine_images_deleted_events();
DROP FUNCTION vitrine_images_updated_events();
DROP FUNCTION vitrine_images_inserted_events();
DROP FUNCTION vitrine_emit_events(vitrine_event_draft[]);
DROP TYPE vitrine_event_draft;
DROP TABLE vitrine_event_watch;
DROP TABLE vitrine_events;
DROP TABLE vitrine_event_heads;
