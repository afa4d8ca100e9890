package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// lockObjects takes transaction advisory locks on object keys: shared by writers that make a
// row refer to a key, exclusive by the deleter that removes an unreferenced object. Keys are
// locked in sorted order so that two transactions cannot deadlock on them.
func lockObjects(ctx context.Context, tx pgx.Tx, keys []string, shared bool) error {
	fn := "pg_advisory_xact_lock"
	if shared {
		fn = "pg_advisory_xact_lock_shared"
	}
	_, err := tx.Exec(ctx, `SELECT `+fn+`(hashtextextended(k, 7)) FROM (SELECT DISTINCT unnest($1::text[]) AS k ORDER BY 1) AS s`, keys)
	return err
}
