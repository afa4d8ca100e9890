-- Rate limits shared by every Vitrine process: per-caller token buckets kept in PostgreSQL,
-- so that several `vitrine serve` processes over one database enforce one budget per caller.
--
-- vitrine_rate_buckets is UNLOGGED: a bucket is worth less than the write-ahead log it would
-- cost, and after a crash the table comes back empty, which only gives every caller a full
-- bucket again. Nobody but its owner may read or change it; Vitrine's login role reaches it
-- only through vitrine_take_tokens, and the request roles (anon, authenticated,
-- service_role, as PostgREST uses them) not at all, so no caller can read or drain another's
-- bucket. A bucket is dropped once it is full again (full_at has passed), since a missing
-- bucket behaves exactly like a full one: the table holds only callers that spent tokens
-- recently.

-- +goose Up
CREATE UNLOGGED TABLE vitrine_rate_buckets (
    key        text PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL,
    full_at    timestamptz NOT NULL -- when the bucket will have refilled to its burst
);
CREATE INDEX vitrine_rate_buckets_full_at ON vitrine_rate_buckets (full_at);
REVOKE ALL ON vitrine_rate_buckets FROM PUBLIC;

-- vitrine_take_tokens takes p_cost tokens from the bucket p_key, which refills at
-- p_per_minute tokens a minute up to p_burst (a new bucket starts full). It returns 0 when
-- the tokens were taken, otherwise the seconds until they would be (nothing is taken then). It
-- locks the one bucket's row for the instant of the update, and deletes a few buckets that
-- are full again, so that the table does not grow with callers that have gone away. A cost
-- above the burst is taken as the burst: the call waits for a full bucket.
-- +goose StatementBegin
CREATE FUNCTION vitrine_take_tokens(p_key text, p_cost double precision, p_per_minute double precision, p_burst double precision)
RETURNS double precision
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    v_now    timestamptz := clock_timestamp();
    v_rate   double precision := p_per_minute / 60; -- tokens a second
    v_cost   double precision := least(p_cost, p_burst);
    v_tokens double precision;
    v_last   timestamptz;
    v_taken  boolean;
BEGIN
    IF p_key IS NULL OR p_cost IS NULL OR p_cost < 0 OR NOT (p_per_minute > 0) OR NOT (p_burst >= 1) THEN
        RAISE EXCEPTION 'vitrine_take_tokens: invalid arguments' USING ERRCODE = '22023';
    END IF;
    DELETE FROM vitrine_rate_buckets WHERE key IN (
        SELECT key FROM vitrine_rate_buckets WHERE full_at < v_now
        ORDER BY full_at LIMIT 10 FOR UPDATE SKIP LOCKED);
    LOOP
        SELECT tokens, updated_at INTO v_tokens, v_last FROM vitrine_rate_buckets WHERE key = p_key FOR UPDATE;
        EXIT WHEN FOUND;
        INSERT INTO vitrine_rate_buckets (key, tokens, updated_at, full_at)
        VALUES (p_key, p_burst, v_now, v_now) ON CONFLICT (key) DO NOTHING;
    END LOOP;
    v_tokens := least(p_burst, v_tokens + greatest(0, extract(epoch FROM v_now - v_last)) * v_rate);
    v_taken := v_tokens >= v_cost;
    IF v_taken THEN
        v_tokens := v_tokens - v_cost;
    END IF;
    v_last := greatest(v_now, v_last);
    UPDATE vitrine_rate_buckets
    SET tokens = v_tokens, updated_at = v_last,
        full_at = v_last + make_interval(secs => least((p_burst - v_tokens) / v_rate, 31536000))
    WHERE key = p_key;
    IF v_taken THEN
        RETURN 0;
    END IF;
    RETURN (v_cost - v_tokens) / v_rate;
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vitrine_take_tokens(text, double precision, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vitrine_take_tokens(text, double precision, double precision, double precision) TO vitrine_app;

-- +goose Down
DROP FUNCTION vitrine_take_tokens(text, double precision, double precision, double precision);
DROP TABLE vitrine_rate_buckets;
