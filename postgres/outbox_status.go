package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// OutboxStatus is how far the object outbox is from drained.
type OutboxStatus struct {
	Length int64      // keys waiting for their objects' deletion
	Oldest *time.Time // when the oldest of them was queued; nil when the outbox is empty
}

// ObjectOutboxStatus reads the object outbox's length and the age of its oldest entry. The
// caller in ctx needs the service role.
func (db *DB) ObjectOutboxStatus(ctx context.Context) (OutboxStatus, error) {
	var s OutboxStatus
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*), min(enqueued_at) FROM vitrine_object_outbox`).Scan(&s.Length, &s.Oldest)
	})
	if err != nil {
		return s, fmt.Errorf("reading the object outbox: %w", err)
	}
	return s, nil
}
