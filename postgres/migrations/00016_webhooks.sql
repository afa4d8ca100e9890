-- Webhooks: endpoints that suppliers (their own products' events) or the service role (every
-- supplier's events) register, the messages their events make, and one delivery per message
-- and endpoint, which River jobs send and retry.
--
-- Messages are written by triggers in the transaction of the change itself (an outbox), so a
-- change that rolls back sends nothing, whoever makes it (Vitrine, the legacy design's RPCs,
-- plain SQL). They are derived from the event rows of 00012 (vitrine_events): a 'thumbnails'
-- event that leaves the record complete is image.ready, a 'status' event whose thumbnail job
-- gave up is image.failed, 'created', 'moved' and 'deleted' image events are gallery.changed
-- (one per product and transaction, holding the gallery as the transaction leaves it). A
-- deleted product's supplier is known only from the deleted rows, so product.deleted comes
-- from a trigger on products.
--
-- A delivery starts without a job (job_id NULL). Vitrine's own writes give their
-- transaction's deliveries their jobs before they commit; a periodic sweep gives jobs to those
-- that other writers made.

-- +goose Up
-- vitrine_lock_at_once takes the locks of p_tables (a LOCK TABLE list) in p_mode, all at once,
-- for a migration that runs on a serving database (a rolling upgrade, or the last steps of
-- `vitrine migrate adopt`). Requests take their locks on the gallery's tables in more than one
-- order, so a migration that held one table while waiting for another could deadlock with a
-- request, and the request would fail. So the locks are taken together without waiting,
-- retried in the gaps between requests for a few seconds, and only then waited for.
-- +goose StatementBegin
CREATE FUNCTION vitrine_lock_at_once(p_tables text, p_mode text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    attempt int := 0;
BEGIN
    LOOP
        BEGIN
            EXECUTE format('LOCK TABLE %s IN %s MODE NOWAIT', p_tables, p_mode);
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            attempt := attempt + 1;
            IF attempt >= 500 THEN
                EXECUTE format('LOCK TABLE %s IN %s MODE', p_tables, p_mode);
                EXIT;
            END IF;
            PERFORM pg_sleep(0.005 + random() * 0.02);
        END;
    END LOOP;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vitrine_lock_at_once(text, text) FROM PUBLIC;

CREATE TABLE vitrine_webhooks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    supplier_id     uuid, -- NULL: a global endpoint, for every supplier's events
    url             text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    events          text[] NOT NULL CHECK (cardinality(events) > 0
                        AND events <@ ARRAY['image.ready', 'image.failed', 'gallery.changed', 'product.deleted']),
    description     text NOT NULL DEFAULT '' CHECK (char_length(description) <= 500),
    secret          text NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vitrine_webhooks_supplier_id_idx ON vitrine_webhooks (supplier_id);
CREATE TRIGGER vitrine_webhooks_touch_updated_at BEFORE UPDATE ON vitrine_webhooks
    FOR EACH ROW EXECUTE FUNCTION vitrine_touch_updated_at();

CREATE TABLE vitrine_webhook_messages (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type        text NOT NULL,
    supplier_id uuid NOT NULL,
    product_id  uuid NOT NULL,
    payload     jsonb NOT NULL,
    xact        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- One gallery.changed per product and transaction: later statements update its payload.
CREATE UNIQUE INDEX vitrine_webhook_messages_gallery_idx ON vitrine_webhook_messages (product_id, xact)
    WHERE type = 'gallery.changed';
CREATE INDEX vitrine_webhook_messages_created_at_idx ON vitrine_webhook_messages USING brin (created_at);

CREATE TABLE vitrine_webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES vitrine_webhooks (id) ON DELETE CASCADE,
    message_id      uuid NOT NULL REFERENCES vitrine_webhook_messages (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_status     integer,
    last_error      text NOT NULL DEFAULT '',
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    job_id          bigint, -- the River job sending it; NULL: none yet
    xact            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, message_id)
);
CREATE INDEX vitrine_webhook_deliveries_webhook_idx ON vitrine_webhook_deliveries (webhook_id, id DESC);
CREATE INDEX vitrine_webhook_deliveries_message_idx ON vitrine_webhook_deliveries (message_id);
-- The deliveries still without a job, by the transaction that made them.
CREATE INDEX vitrine_webhook_deliveries_unscheduled_idx ON vitrine_webhook_deliveries (xact) WHERE job_id IS NULL;

-- vitrine_webhook_enqueue records one message and its deliveries to the enabled endpoints
-- that subscribe to its type and see its supplier; without such an endpoint it records
-- nothing. A second gallery.changed of the same product in one transaction replaces the
-- first one's payload.
-- +goose StatementBegin
CREATE FUNCTION vitrine_webhook_enqueue(p_type text, p_supplier uuid, p_product uuid, p_data jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    v_message uuid;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM vitrine_webhooks AS w WHERE w.enabled AND p_type = ANY (w.events)
                   AND (w.supplier_id IS NULL OR w.supplier_id = p_supplier)) THEN
        RETURN;
    END IF;
    INSERT INTO vitrine_webhook_messages AS m (type, supplier_id, product_id, payload)
    VALUES (p_type, p_supplier, p_product, jsonb_build_object(
        'type', p_type,
        'timestamp', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'data', p_data))
    ON CONFLICT (product_id, xact) WHERE type = 'gallery.changed' DO UPDATE SET payload = excluded.payload
    RETURNING m.id INTO v_message;
    INSERT INTO vitrine_webhook_deliveries (webhook_id, message_id)
    SELECT w.id, v_message FROM vitrine_webhooks AS w
    WHERE w.enabled AND p_type = ANY (w.events) AND (w.supplier_id IS NULL OR w.supplier_id = p_supplier)
    ON CONFLICT (webhook_id, message_id) DO NOTHING;
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vitrine_webhook_enqueue(text, uuid, uuid, jsonb) FROM PUBLIC;

-- The most image ids a gallery.changed lists (image_count has the gallery's size), which
-- bounds its payload.
-- +goose StatementBegin
CREATE FUNCTION vitrine_webhook_gallery(p_product uuid) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT jsonb_build_object(
        'product_id', p.id, 'supplier_id', p.supplier_id,
        'main_image_id', (SELECT i.id FROM product_images AS i WHERE i.product_id = p.id AND i.image_order = 0),
        'image_count', (SELECT count(*) FROM product_images AS i WHERE i.product_id = p.id),
        'image_ids', coalesce((SELECT jsonb_agg(s.id ORDER BY s.image_order) FROM (
            SELECT i.id, i.image_order FROM product_images AS i WHERE i.product_id = p.id
            ORDER BY i.image_order LIMIT 250) AS s), '[]'::jsonb))
    FROM products AS p WHERE p.id = p_product
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vitrine_webhook_gallery(uuid) FROM PUBLIC;

-- vitrine_webhook_events turns a statement's event rows into webhook messages. It returns at
-- once when no endpoint is enabled, so that it costs nothing where webhooks are not used.
-- +goose StatementBegin
CREATE FUNCTION vitrine_webhook_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    r record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM vitrine_webhooks WHERE enabled) THEN
        RETURN NULL;
    END IF;
    FOR r IN
        SELECT DISTINCT ON (i.id) 'image.ready' AS type, p.supplier_id, p.id AS product_id,
               jsonb_build_object('product_id', p.id, 'supplier_id', p.supplier_id, 'image_id', i.id,
                   'position', i.image_order, 'thumbnail_url', i.thumbnail_url, 'thumbnails', i.thumbnails) AS data
        FROM new_events AS e
        JOIN product_images AS i ON i.id = e.image_id
        JOIN products AS p ON p.id = i.product_id
        WHERE e.change = 'thumbnails' AND vitrine_thumbnails_complete(i.thumbnails, i.thumbnail_url)
        UNION ALL
        SELECT DISTINCT ON (i.id) 'image.failed', p.supplier_id, p.id,
               jsonb_build_object('product_id', p.id, 'supplier_id', p.supplier_id, 'image_id', i.id,
                   'position', i.image_order, 'attempts', j.attempt)
        FROM new_events AS e
        JOIN product_images AS i ON i.id = e.image_id
        JOIN products AS p ON p.id = i.product_id
        CROSS JOIN LATERAL vitrine_image_job(i.id) AS j
        WHERE e.change = 'status' AND j.state IN ('discarded', 'cancelled')
          AND NOT vitrine_thumbnails_complete(i.thumbnails, i.thumbnail_url)
        UNION ALL
        SELECT 'gallery.changed', p.supplier_id, p.id, vitrine_webhook_gallery(p.id)
        FROM products AS p
        WHERE p.id IN (SELECT e.product_id FROM new_events AS e
                       WHERE e.image_id IS NOT NULL AND e.change IN ('created', 'moved', 'deleted'))
    LOOP
        PERFORM vitrine_webhook_enqueue(r.type, r.supplier_id, r.product_id, r.data);
    END LOOP;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
-- The triggers lock the tables they are on; writers hold products and vitrine_events in
-- either order.
SELECT vitrine_lock_at_once('products, vitrine_events', 'SHARE ROW EXCLUSIVE');
CREATE TRIGGER vitrine_events_webhooks AFTER INSERT ON vitrine_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION vitrine_webhook_events();

-- +goose StatementBegin
CREATE FUNCTION vitrine_webhook_products_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    r record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM vitrine_webhooks WHERE enabled) THEN
        RETURN NULL;
    END IF;
    FOR r IN SELECT o.id, o.supplier_id FROM old_rows AS o LOOP
        PERFORM vitrine_webhook_enqueue('product.deleted', r.supplier_id, r.id,
            jsonb_build_object('product_id', r.id, 'supplier_id', r.supplier_id));
    END LOOP;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER products_deleted_webhooks AFTER DELETE ON products
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION vitrine_webhook_products_deleted();

-- vitrine_expire_webhook_messages deletes up to p_limit messages older than p_age with their
-- deliveries, and returns how many it deleted.
-- +goose StatementBegin
CREATE FUNCTION vitrine_expire_webhook_messages(p_age interval, p_limit integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    v_deleted bigint;
BEGIN
    DELETE FROM vitrine_webhook_messages WHERE id = ANY (ARRAY(
        SELECT m.id FROM vitrine_webhook_messages AS m WHERE m.created_at < now() - p_age
          AND NOT EXISTS (SELECT 1 FROM vitrine_webhook_deliveries AS d WHERE d.message_id = m.id AND d.status = 'pending')
        LIMIT p_limit));
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN v_deleted;
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vitrine_expire_webhook_messages(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vitrine_expire_webhook_messages(interval, integer) TO service_role;

-- Who reads what: a supplier its own endpoints (never their secrets: the column is not
-- granted), the messages of its own products and the deliveries of its endpoints; the
-- service role everything. Only the service role (the workers, and Vitrine on a caller's
-- behalf once row-level security has shown the caller the row) changes deliveries.
ALTER TABLE vitrine_webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE vitrine_webhooks FORCE ROW LEVEL SECURITY;
CREATE POLICY webhooks_supplier ON vitrine_webhooks FOR ALL TO authenticated
    USING (supplier_id = vitrine_uid()) WITH CHECK (supplier_id = vitrine_uid());
CREATE POLICY webhooks_service ON vitrine_webhooks FOR ALL TO service_role USING (true) WITH CHECK (true);
ALTER TABLE vitrine_webhook_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE vitrine_webhook_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_messages_supplier ON vitrine_webhook_messages FOR SELECT TO authenticated
    USING (supplier_id = vitrine_uid());
CREATE POLICY webhook_messages_service ON vitrine_webhook_messages FOR ALL TO service_role USING (true) WITH CHECK (true);
ALTER TABLE vitrine_webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE vitrine_webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_deliveries_supplier ON vitrine_webhook_deliveries FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM vitrine_webhooks AS w WHERE w.id = webhook_id));
CREATE POLICY webhook_deliveries_service ON vitrine_webhook_deliveries FOR ALL TO service_role USING (true) WITH CHECK (true);

GRANT SELECT (id, supplier_id, url, events, description, enabled, disabled_reason, created_at, updated_at),
      INSERT (id, supplier_id, url, events, description, secret, enabled),
      UPDATE (url, events, description, enabled, disabled_reason),
      DELETE
    ON vitrine_webhooks TO authenticated;
GRANT SELECT ON vitrine_webhook_messages, vitrine_webhook_deliveries TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vitrine_webhooks, vitrine_webhook_messages, vitrine_webhook_deliveries TO service_role;

-- +goose Down
SELECT vitrine_lock_at_once('products, vitrine_events', 'SHARE ROW EXCLUSIVE');
DROP TRIGGER products_deleted_webhooks ON products;
DROP TRIGGER vitrine_events_webhooks ON vitrine_events;
DROP FUNCTION vitrine_expire_webhook_messages(interval, integer);
DROP FUNCTION vitrine_webhook_products_deleted();
DROP FUNCTION vitrine_webhook_events();
DROP FUNCTION vitrine_webhook_gallery(uuid);
DROP FUNCTION vitrine_webhook_enqueue(text, uuid, uuid, jsonb);
DROP TABLE vitrine_webhook_deliveries;
DROP TABLE vitrine_webhook_messages;
DROP TABLE vitrine_webhooks;
DROP FUNCTION vitrine_lock_at_once(text, text);
