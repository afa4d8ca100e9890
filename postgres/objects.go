package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// DeleteUnusedObjects deletes, with one call of del, those of keys that no row refers to (an image's
// original or variant, or the staging object of a pending upload), and returns them. It holds
// each key's exclusive lock meanwhile, so that no writer can start referring to a key between
// the check and the delete; writers take the same locks, shared, before they publish an object
// and insert the row naming it. A del error aborts the whole call: keys it deleted before it
// failed are gone, which is harmless to redo. The caller in ctx needs the service role.
func (db *DB) DeleteUnusedObjects(ctx context.Context, keys []string, del func(ctx context.Context, keys []string) error) ([]string, error) {
	var deleted []string
	err := db.inTx(ctx, func(tx pgx.Tx) (err error) {
		deleted, err = deleteUnused(ctx, tx, keys, del)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("deleting unused objects: %w", err)
	}
	return deleted, nil
}

// deleteUnused is DeleteUnusedObjects inside tx.
func deleteUnused(ctx context.Context, tx pgx.Tx, keys []string, del func(ctx context.Context, keys []string) error) ([]string, error) {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	if len(keys) == 0 {
		return nil, nil
	}
	if err := lockObjects(ctx, tx, keys, false); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT k FROM vitrine_keys_in_use($1) AS k`, keys)
	if err != nil {
		return nil, err
	}
	used, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var unused []string
	for _, k := range keys {
		if !slices.Contains(used, k) {
			unused = append(unused, k)
		}
	}
	if len(unused) == 0 {
		return nil, nil
	}
	if err := del(ctx, unused); err != nil {
		return nil, fmt.Errorf("deleting %d objects: %w", len(unused), err)
	}
	return unused, nil
}

// DrainObjectOutbox empties the object outbox in batches of batch keys: each batch, under its
// keys' locks, deletes the objects no row refers to through del and removes its entries, in
// one transaction, so an entry leaves the outbox only once its object is gone or in use again.
// Entries another drain holds are skipped (FOR UPDATE SKIP LOCKED), so drains may run at once.
// On a del error the batch stays in the outbox for the next drain.
func (db *DB) DrainObjectOutbox(ctx context.Context, batch int, del func(ctx context.Context, keys []string) error) (gallery.OutboxResult, error) {
	var res gallery.OutboxResult
	for {
		n := 0
		err := db.inTx(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id, key FROM vitrine_object_outbox
				ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, batch)
			if err != nil {
				return err
			}
			var ids []int64
			var keys []string
			var id int64
			var key string
			_, err = pgx.ForEachRow(rows, []any{&id, &key}, func() error {
				ids = append(ids, id)
				keys = append(keys, key)
				return nil
			})
			if err != nil {
				return err
			}
			if n = len(ids); n == 0 {
				return nil
			}
			deleted, err := deleteUnused(ctx, tx, keys, del)
			if err != nil {
				return err
			}
			res.Deleted += len(deleted)
			res.KeptInUse += len(slices.Compact(slices.Sorted(slices.Values(keys)))) - len(deleted)
			_, err = tx.Exec(ctx, `DELETE FROM vitrine_object_outbox WHERE id = ANY($1)`, ids)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("draining the object outbox: %w", err)
		}
		if n < batch {
			return res, nil
		}
	}
}

// QueueObjectDeletes puts keys in the object outbox and enqueues a drain, in one transaction:
// for objects that were written but that no row came to name (a thumbnail job whose image
// changed meanwhile).
func (db *DB) QueueObjectDeletes(ctx context.Context, keys []string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO vitrine_object_outbox (key) SELECT unnest($1::text[])`, keys); err != nil {
			return err
		}
		if db.jobs == nil {
			return nil
		}
		return db.jobs.EnqueueOutboxDrain(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("queueing the deletion of %d objects: %w", len(keys), err)
	}
	return nil
}
