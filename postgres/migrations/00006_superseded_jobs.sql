-- Superseded thumbnail jobs: when an image stops needing thumbnails (it is no longer the main
-- image, or it is deleted) while its job is queued or running, the gallery write that caused
-- it cancels the job in the same transaction (River's JobCancelTx, which marks the job's
-- metadata with cancel_attempted_at). Such a job did not fail: it is not the image's job any
-- more. vitrine_image_job, which gives images their thumbnail status, skips it, so an image
-- that is no longer main shows `none`, not `failed`. A job that cancelled itself (an original
-- that cannot be decoded) has no cancel_attempted_at and still shows as failed.

-- +goose Up
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vitrine_image_job(p_image_id uuid, OUT state text, OUT attempt integer, OUT last_error text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT j.state::text, j.attempt, j.errors[array_upper(j.errors, 1)] ->> 'error'
    FROM river_job AS j
    WHERE j.kind = 'thumbnail' AND j.args @> jsonb_build_object('image_id', p_image_id)
    ORDER BY j.id DESC LIMIT 1
$$;
-- +goose StatementEnd
