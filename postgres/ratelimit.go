package postgres

import (
	"context"
	"fmt"
	"time"
)

// TakeTokens takes cost tokens from the token bucket key, which refills at perMinute tokens
// a minute up to burst (a bucket not seen before is full), through the database function
// vitrine_take_tokens of migration 00007: buckets live in PostgreSQL, so every process
// connected to the database shares them. It returns 0 when the tokens were taken, otherwise
// how long until they would be (nothing is taken then). It is one statement, one round trip,
// run as the login role outside any caller's transaction: the request roles may not touch
// buckets at all. perMinute must be positive and burst at least 1.
func (db *DB) TakeTokens(ctx context.Context, key string, cost, perMinute, burst float64) (time.Duration, error) {
	var wait float64
	if err := db.pool.QueryRow(ctx, `SELECT vitrine_take_tokens($1, $2, $3, $4)`, key, cost, perMinute, burst).Scan(&wait); err != nil {
		return 0, fmt.Errorf("taking %g tokens from bucket %s: %w", cost, key, err)
	}
	return time.Duration(wait * float64(time.Second)), nil
}
