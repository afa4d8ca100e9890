package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// EventsChannel is the channel on which writers notify that products have new events
// (migration 00012): the payload is a comma-separated list of product ids, or "*" for
// "re-read every product you watch".
const EventsChannel = "vitrine_events"

// notifyAfterCommit is the statement with which a Vitrine transaction says that it notifies
// the readers of its events itself, after it commits: the triggers then do not notify inside
// it (see 00012_events.sql and eventNotifier).
const notifyAfterCommit = `set_config('vitrine.notify', 'after_commit', true)`

// ProductEvents reads, as the caller that ctx carries, the events of a product after seq
// after (the first limit of them), and the product and its gallery as they are now. A product
// the caller cannot read is a not-found error. See gallery.ProductEvents for Head and Held.
func (db *DB) ProductEvents(ctx context.Context, productID uuid.UUID, after int64, limit int) (gallery.ProductEvents, error) {
	var out gallery.ProductEvents
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// The head first: events committed after it are left for the next read, and the
		// state read after it is at least as new as the events up to it.
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT seq FROM vitrine_event_heads WHERE product_id = $1), 0)`,
			productID).Scan(&out.Head); err != nil {
			return err
		}
		var err error
		if out.Product, err = readProduct(ctx, tx, productID); err != nil {
			return err
		}
		switch {
		case after < 0 || after > out.Head:
			out.Held = false
		case after == out.Head:
			out.Held = true
		default:
			rows, err := tx.Query(ctx, `SELECT product_id, seq, coalesce(image_id, '00000000-0000-0000-0000-000000000000'::uuid), change, at
				FROM vitrine_events WHERE product_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
				productID, after, out.Head, limit)
			if err != nil {
				return err
			}
			out.Events, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (gallery.Event, error) {
				var e gallery.Event
				err := row.Scan(&e.ProductID, &e.Seq, &e.ImageID, &e.Change, &e.At)
				return e, err
			})
			if err != nil {
				return err
			}
			out.Held = len(out.Events) > 0 && out.Events[0].Seq == after+1
			if !out.Held {
				out.Events = nil
			}
		}
		out.Images, err = listImages(ctx, tx, productID)
		return err
	})
	return out, domainError("reading events", err)
}

// EventHeads returns the number of the last event of each product of ids that has any, in
// one query. It reads as the service.
func (db *DB) EventHeads(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]int64, error) {
	heads := make(map[uuid.UUID]int64, len(ids))
	err := db.inTx(gallery.WithCaller(ctx, gallery.Service()), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT product_id, seq FROM vitrine_event_heads WHERE product_id = ANY($1)`, ids)
		if err != nil {
			return err
		}
		var id uuid.UUID
		var seq int64
		_, err = pgx.ForEachRow(rows, []any{&id, &seq}, func() error {
			heads[id] = seq
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading event heads: %w", err)
	}
	return heads, nil
}

// WatchProducts tells writers that do not notify after their commit (plain SQL, the legacy
// design's RPCs) that a stream watches these products for the next ttl: their triggers
// notify for them.
func (db *DB) WatchProducts(ctx context.Context, ids []uuid.UUID, ttl time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	err := db.inTx(gallery.WithCaller(ctx, gallery.Service()), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO vitrine_event_watch AS w (product_id, until)
			SELECT id, now() + $2::interval FROM unnest($1::uuid[]) AS u(id) ORDER BY id
			ON CONFLICT (product_id) DO UPDATE SET until = greatest(w.until, excluded.until)`,
			ids, ttl.String())
		return err
	})
	if err != nil {
		return fmt.Errorf("recording watched products: %w", err)
	}
	return nil
}

// RecordImageStatus records that the thumbnail status of an image changed (its job started,
// failed, or ended), as the service, and notifies after the commit. An image that no longer
// exists records nothing.
func (db *DB) RecordImageStatus(ctx context.Context, imageID uuid.UUID) error {
	var productID uuid.UUID
	err := db.inTx(gallery.WithCaller(ctx, gallery.Service()), func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT i.product_id, `+notifyAfterCommit+`,
				vitrine_emit_events(ARRAY[ROW(i.product_id, i.id, 'status')::vitrine_event_draft])
			FROM product_images AS i WHERE i.id = $1`, imageID).Scan(&productID, nil, nil)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		// A job that gave up is image.failed for the webhooks.
		return db.scheduleWebhooks(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("recording an image's status: %w", err)
	}
	db.notify(productID)
	return nil
}

// eventsExpiryBatch is how many events one statement of ExpireEvents deletes.
const eventsExpiryBatch = 5000

// ExpireEvents deletes the events older than gallery.EventRetention, in batches of
// eventsExpiryBatch, each its own transaction, and returns how many it deleted.
func (db *DB) ExpireEvents(ctx context.Context) (int64, error) {
	var total int64
	for {
		var n int64
		err := db.inTx(gallery.WithCaller(ctx, gallery.Service()), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT vitrine_expire_events($1::interval, $2)`,
				gallery.EventRetention.String(), eventsExpiryBatch).Scan(&n)
		})
		if err != nil {
			return total, fmt.Errorf("expiring events: %w", err)
		}
		total += n
		if n < eventsExpiryBatch {
			return total, nil
		}
	}
}

// ListenEvents listens on EventsChannel on a connection of its own, outside the pool: it
// calls listening once the connection listens (a reader re-reads then what it watches, since
// notifications sent while it was not listening are lost), then notified with each payload,
// until ctx ends or the connection fails; it returns why it stopped.
func (db *DB) ListenEvents(ctx context.Context, listening func(), notified func(payload string)) error {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connecting to listen for events: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+EventsChannel); err != nil {
		return fmt.Errorf("listening for events: %w", err)
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("waiting for events: %w", err)
		}
		notified(n.Payload)
	}
}
