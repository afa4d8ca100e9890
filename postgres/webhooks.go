package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// webhookColumns are the columns of an endpoint that callers may read (never its secret), in
// the order webhookDest scans them.
const webhookColumns = `id, supplier_id, url, events, description, enabled, disabled_reason, created_at, updated_at`

func webhookDest(w *gallery.Webhook) []any {
	return []any{&w.ID, &w.SupplierID, &w.URL, &w.Events, &w.Description, &w.Enabled, &w.DisabledReason, &w.CreatedAt, &w.UpdatedAt}
}

func webhookNotFound(id uuid.UUID) error {
	return gallery.Errorf(gallery.ENOTFOUND, "webhook %s does not exist", id)
}

// CreateWebhook records an endpoint with its signing secret, as the caller that ctx carries:
// a supplier's own (row-level security refuses another's), or, for the service role, a
// supplier's or a global one (SupplierID nil). An owner (a supplier, or the global endpoints
// together) has at most limit endpoints: one more is a conflict. Creations for one owner are
// serialised by a transaction-scoped advisory lock, so the bound holds under concurrency.
func (db *DB) CreateWebhook(ctx context.Context, w gallery.Webhook, secret string, limit int) (gallery.Webhook, error) {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('vitrine_webhooks:' || coalesce($1::text, 'global'), 0))`,
			w.SupplierID).Scan(nil); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM vitrine_webhooks WHERE supplier_id IS NOT DISTINCT FROM $1`,
			w.SupplierID).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return gallery.Errorf(gallery.ECONFLICT, "there are already %d webhook endpoints, the most allowed; delete one first", n)
		}
		return tx.QueryRow(ctx, `INSERT INTO vitrine_webhooks (supplier_id, url, events, description, secret)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+webhookColumns,
			w.SupplierID, w.URL, w.Events, w.Description, secret).Scan(webhookDest(&w)...)
	})
	return w, domainError("creating webhook", err)
}

// Webhooks lists, as the caller, the endpoints of one supplier, or the global ones when
// supplierID is nil, oldest first. Row-level security shows a supplier its own only.
func (db *DB) Webhooks(ctx context.Context, supplierID *uuid.UUID) ([]gallery.Webhook, error) {
	var out []gallery.Webhook
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+webhookColumns+` FROM vitrine_webhooks
			WHERE supplier_id IS NOT DISTINCT FROM $1 ORDER BY created_at, id`, supplierID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (gallery.Webhook, error) {
			var w gallery.Webhook
			err := row.Scan(webhookDest(&w)...)
			return w, err
		})
		return err
	})
	return out, domainError("listing webhooks", err)
}

// Webhook returns one endpoint the caller may see, or a not-found error.
func (db *DB) Webhook(ctx context.Context, id uuid.UUID) (gallery.Webhook, error) {
	var w gallery.Webhook
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT `+webhookColumns+` FROM vitrine_webhooks WHERE id = $1`, id).Scan(webhookDest(&w)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return webhookNotFound(id)
		}
		return err
	})
	return w, domainError("reading webhook", err)
}

// UpdateWebhook applies change to an endpoint the caller may see; enabling it clears the
// reason it was disabled for. An endpoint the caller cannot see is a not-found error.
func (db *DB) UpdateWebhook(ctx context.Context, id uuid.UUID, change gallery.WebhookChange) (gallery.Webhook, error) {
	var w gallery.Webhook
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE vitrine_webhooks
			SET url = coalesce($2, url), events = coalesce($3, events), description = coalesce($4, description),
			    enabled = coalesce($5, enabled),
			    disabled_reason = CASE WHEN $5 THEN '' ELSE disabled_reason END
			WHERE id = $1 RETURNING `+webhookColumns,
			id, change.URL, change.Events, change.Description, change.Enabled).Scan(webhookDest(&w)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return webhookNotFound(id)
		}
		return err
	})
	return w, domainError("updating webhook", err)
}

// DeleteWebhook deletes an endpoint the caller may see, with its deliveries; jobs still queued
// for them find nothing to send. An endpoint the caller cannot see is a not-found error.
func (db *DB) DeleteWebhook(ctx context.Context, id uuid.UUID) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM vitrine_webhooks WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			return webhookNotFound(id)
		}
		return err
	})
	return domainError("deleting webhook", err)
}

// deliveryColumns read a delivery from vitrine_webhook_deliveries AS d, its message AS m and
// its job AS j (a LEFT JOIN of river_job), in the order deliveryDest scans them. The next
// attempt is the job's scheduled time while the delivery is pending and its job waits.
const deliveryColumns = `d.id, d.webhook_id, d.message_id, m.type, m.payload, d.status, d.attempts,
	coalesce(d.last_status, 0), d.last_error, d.last_attempt_at,
	CASE WHEN d.status = 'pending' AND j.state IN ('available', 'scheduled', 'retryable', 'pending') THEN j.scheduled_at END,
	d.delivered_at, d.created_at`

const deliverySelect = `SELECT ` + deliveryColumns + `
FROM vitrine_webhook_deliveries AS d
JOIN vitrine_webhook_messages AS m ON m.id = d.message_id
LEFT JOIN river_job AS j ON j.id = d.job_id`

func deliveryDest(d *gallery.WebhookDelivery) []any {
	return []any{&d.ID, &d.WebhookID, &d.MessageID, &d.Type, &d.Payload, &d.Status, &d.Attempts,
		&d.LastStatusCode, &d.LastError, &d.LastAttemptAt, &d.NextAttemptAt, &d.DeliveredAt, &d.CreatedAt}
}

// WebhookDeliveries returns a page of an endpoint's deliveries, newest first: at most limit,
// older than the delivery before (0: from the newest). The endpoint is read as the caller (one
// it cannot see is a not-found error); its deliveries and their jobs are then read as the
// service, since the caller may not read River's table.
func (db *DB) WebhookDeliveries(ctx context.Context, webhookID uuid.UUID, before int64, limit int) (gallery.DeliveryPage, error) {
	page := gallery.DeliveryPage{Deliveries: []gallery.WebhookDelivery{}}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := webhookVisible(ctx, tx, webhookID); err != nil {
			return err
		}
		return asService(ctx, tx, func() error {
			rows, err := tx.Query(ctx, deliverySelect+` WHERE d.webhook_id = $1 AND ($2 = 0 OR d.id < $2)
				ORDER BY d.id DESC LIMIT $3`, webhookID, before, limit+1)
			if err != nil {
				return err
			}
			page.Deliveries, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (gallery.WebhookDelivery, error) {
				var d gallery.WebhookDelivery
				err := row.Scan(deliveryDest(&d)...)
				return d, err
			})
			return err
		})
	})
	if err != nil {
		return gallery.DeliveryPage{}, domainError("listing deliveries", err)
	}
	if len(page.Deliveries) > limit {
		page.Deliveries = page.Deliveries[:limit]
		page.NextCursor = page.Deliveries[limit-1].ID
	}
	return page, nil
}

// webhookVisible answers a not-found error unless the caller of tx may see the endpoint.
func webhookVisible(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM vitrine_webhooks WHERE id = $1)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return webhookNotFound(id)
	}
	return nil
}

// ResendWebhookDelivery sends a delivery of an endpoint the caller may see again, with a new
// job and the same message (and so the same webhook-id). A pending delivery whose job is still
// queued or running is a conflict; one the caller cannot see is a not-found error.
func (db *DB) ResendWebhookDelivery(ctx context.Context, webhookID uuid.UUID, deliveryID int64) (gallery.WebhookDelivery, error) {
	var d gallery.WebhookDelivery
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var visible bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM vitrine_webhook_deliveries WHERE id = $1 AND webhook_id = $2)`,
			deliveryID, webhookID).Scan(&visible); err != nil {
			return err
		}
		if !visible {
			return gallery.Errorf(gallery.ENOTFOUND, "delivery %d of webhook %s does not exist", deliveryID, webhookID)
		}
		if db.jobs == nil {
			return gallery.Errorf(gallery.EUNSUPPORTED, "this server enqueues no jobs")
		}
		return asService(ctx, tx, func() error {
			var busy bool
			// A job that recorded its last attempt (the delivery is no longer pending) has
			// nothing left to do, even while River still counts it as running.
			if err := tx.QueryRow(ctx, `SELECT d.status = 'pending' AND coalesce(j.state IN
					('available', 'scheduled', 'retryable', 'pending', 'running'), false)
				FROM vitrine_webhook_deliveries AS d LEFT JOIN river_job AS j ON j.id = d.job_id
				WHERE d.id = $1 FOR UPDATE OF d`, deliveryID).Scan(&busy); err != nil {
				return err
			}
			if busy {
				return gallery.Errorf(gallery.ECONFLICT, "delivery %d is already queued", deliveryID)
			}
			if _, err := tx.Exec(ctx, `UPDATE vitrine_webhook_deliveries SET status = 'pending' WHERE id = $1`, deliveryID); err != nil {
				return err
			}
			if err := db.giveWebhookJobs(ctx, tx, []int64{deliveryID}); err != nil {
				return err
			}
			return tx.QueryRow(ctx, deliverySelect+` WHERE d.id = $1`, deliveryID).Scan(deliveryDest(&d)...)
		})
	})
	return d, domainError("resending delivery", err)
}

// scheduleWebhooks gives jobs to the webhook deliveries that the triggers recorded in tx,
// which must act as the service. Without a job queue it does nothing (the sweep of a process
// that works jobs does it once tx commits).
func (db *DB) scheduleWebhooks(ctx context.Context, tx pgx.Tx) error {
	if db.jobs == nil {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM vitrine_webhook_deliveries
		WHERE job_id IS NULL AND xact = pg_current_xact_id_if_assigned() ORDER BY id`)
	if err != nil {
		return fmt.Errorf("finding new webhook deliveries: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("finding new webhook deliveries: %w", err)
	}
	return db.giveWebhookJobs(ctx, tx, ids)
}

// giveWebhookJobs enqueues a job for each delivery and records it on the delivery.
func (db *DB) giveWebhookJobs(ctx context.Context, tx pgx.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	jobIDs, err := db.jobs.EnqueueWebhookDeliveries(ctx, tx, ids)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE vitrine_webhook_deliveries AS d SET job_id = u.job
		FROM unnest($1::bigint[], $2::bigint[]) AS u(id, job) WHERE d.id = u.id`, ids, jobIDs); err != nil {
		return fmt.Errorf("recording the jobs of webhook deliveries: %w", err)
	}
	return nil
}

// webhookSweepBatch is how many deliveries one transaction of the sweep schedules.
const webhookSweepBatch = 500

// ScheduleWebhookDeliveries gives jobs to the deliveries that writers other than Vitrine
// (plain SQL, the legacy design's RPCs) recorded, in batches, each its own transaction; it
// returns how many it scheduled.
func (db *DB) ScheduleWebhookDeliveries(ctx context.Context) (int, error) {
	if db.jobs == nil {
		return 0, errors.New("scheduling webhook deliveries without a job queue")
	}
	total := 0
	for {
		var n int
		err := db.inTx(gallery.WithCaller(ctx, gallery.Service()), func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id FROM vitrine_webhook_deliveries WHERE job_id IS NULL
				ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, webhookSweepBatch)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			n = len(ids)
			return db.giveWebhookJobs(ctx, tx, ids)
		})
		if err != nil {
			return total, fmt.Errorf("scheduling webhook deliveries: %w", err)
		}
		total += n
		if n < webhookSweepBatch {
			return total, nil
		}
	}
}

// WebhookTarget returns what sending a delivery needs: the endpoint's URL, secret and state,
// and the message. A delivery that no longer exists (its endpoint was deleted) is a not-found
// error.
func (db *DB) WebhookTarget(ctx context.Context, deliveryID int64) (gallery.WebhookTarget, error) {
	t := gallery.WebhookTarget{DeliveryID: deliveryID}
	err := db.inTx(gallery.WithCaller(ctx, gallery.Service()), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT d.message_id, w.url, w.secret, w.enabled, d.status, m.payload::text
			FROM vitrine_webhook_deliveries AS d
			JOIN vitrine_webhooks AS w ON w.id = d.webhook_id
			JOIN vitrine_webhook_messages AS m ON m.id = d.message_id
			WHERE d.id = $1`, deliveryID).Scan(&t.MessageID, &t.URL, &t.Secret, &t.Enabled, &t.Status, &t.Payload)
	})
	return t, domainError("reading webhook delivery", err)
}

// RecordWebhookAttempt records the outcome of an attempt on its delivery: delivered, failed
// for good (Final), or pending another attempt; an attempt answered 410 Gone also disables
// the endpoint.
func (db *DB) RecordWebhookAttempt(ctx context.Context, deliveryID int64, a gallery.WebhookAttempt) error {
	status := gallery.DeliveryPending
	switch {
	case a.Delivered:
		status = gallery.DeliveryDelivered
	case a.Final || a.Gone:
		status = gallery.DeliveryFailed
	}
	err := db.inTx(gallery.WithCaller(ctx, gallery.Service()), func(tx pgx.Tx) error {
		var webhookID uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE vitrine_webhook_deliveries
			SET attempts = attempts + 1, last_status = nullif($2, 0), last_error = $3, last_attempt_at = now(),
			    status = $4, delivered_at = CASE WHEN $4 = 'delivered' THEN now() END
			WHERE id = $1 RETURNING webhook_id`, deliveryID, a.StatusCode, a.Error, status).Scan(&webhookID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // the endpoint was deleted meanwhile
		}
		if err != nil || !a.Gone {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE vitrine_webhooks SET enabled = false, disabled_reason = 'the target answered 410 Gone'
			WHERE id = $1`, webhookID)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording a webhook attempt: %w", err)
	}
	return nil
}

// webhookExpiryBatch is how many messages one statement of ExpireWebhookMessages deletes.
const webhookExpiryBatch = 5000

// ExpireWebhookMessages deletes the messages older than gallery.WebhookRetention that have no
// pending delivery, with their deliveries, in batches, and returns how many it deleted.
func (db *DB) ExpireWebhookMessages(ctx context.Context) (int64, error) {
	var total int64
	for {
		var n int64
		err := db.inTx(gallery.WithCaller(ctx, gallery.Service()), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT vitrine_expire_webhook_messages($1::interval, $2)`,
				gallery.WebhookRetention.String(), webhookExpiryBatch).Scan(&n)
		})
		if err != nil {
			return total, fmt.Errorf("expiring webhook messages: %w", err)
		}
		total += n
		if n < webhookExpiryBatch {
			return total, nil
		}
	}
}
