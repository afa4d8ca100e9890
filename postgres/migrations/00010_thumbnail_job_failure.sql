-- A thumbnail job that fails for good for a reason clients may be told (an original that
-- cannot be decoded) records that reason as a code in its output (River's metadata
-- "output", the job's {"failure": "<code>"}). vitrine_image_job answers that code as the
-- image's last error, so that Vitrine reads the reason as recorded rather than finding it again
-- in the error text; any other job answers its last recorded error, as before.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vitrine_image_job(p_image_id uuid, OUT state text, OUT attempt integer, OUT last_error text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT j.state::text, j.attempt,
           coalesce(j.metadata -> 'output' ->> 'failure', j.errors[array_upper(j.errors, 1)] ->> 'error')
    FROM river_job AS j
    WHERE j.kind = 'thumbnail' AND j.args @> jsonb_build_object('image_id', p_image_id)
      AND NOT (j.state = 'cancelled' AND j.metadata ? 'cancel_attempted_at')
    ORDER BY j.id DESC LIMIT 1
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vitrine_image_job(p_image_id uuid, OUT state text, OUT attempt integer, OUT last_error text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT j.state::text, j.attempt, j.errors[array_upper(j.errors, 1)] ->> 'error'
    FROM river_job AS j
    WHERE j.kind = 'thumbnail' AND j.args @> jsonb_build_object('image_id', p_image_id)
      AND NOT (j.state = 'cancelled' AND j.metadata ? 'cancel_attempted_at')
    ORDER BY j.id DESC LIMIT 1
$$;
-- +goose StatementEnd
