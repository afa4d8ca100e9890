package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// normalize loads the store's object times and the overrides, then renumbers every gallery in
// batches of products, in id order: each batch is one transaction that holds the API's gallery
// lock of each of its products (so the shop's writes to those products wait a few
// milliseconds, and to every other product not at all), fills storage_path and created_at,
// numbers the gallery and saves the cursor. A rerun after a crash resumes after the last
// committed batch, with the same fallback time, so it ends as one clean run would. Last, a
// sweep renumbers the galleries that something other than Vitrine's functions (the legacy
// application, plain SQL) broke meanwhile, keeping their current order.
func (a *adopter) normalize(ctx context.Context, detail map[string]any) (map[string]any, error) {
	orderBy, err := orderByClause(a.opts.OrderBy)
	if err != nil {
		return nil, err
	}
	batchSQL := strings.ReplaceAll(query("normalize_batch"), "{{order_by}}", orderBy)
	if _, err := a.db.pool.Exec(ctx, query("parse_time_create")); err != nil {
		return nil, fmt.Errorf("creating the path time parser: %w", err)
	}
	fallback := a.fallback
	objects, err := a.loadObjectTimes(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.loadOverrides(ctx); err != nil {
		return nil, err
	}
	after := uuid.Nil
	if s, ok := detail["after"].(string); ok {
		if after, err = uuid.Parse(s); err != nil {
			return nil, fmt.Errorf("reading the recorded cursor: %w", err)
		}
		a.log.Info("adopt: resuming the normalization", "after_product", after)
	}
	var (
		batches  int
		products int
		changed  int64
		t0       = time.Now()
	)
	run := func(ids []uuid.UUID, keepOrder bool, cursor bool) error {
		return inReadCommitted(ctx, a.db.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, query("batch_plans")); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, query("lock_products"), ids); err != nil {
				return fmt.Errorf("locking products: %w", err)
			}
			var n int64
			if err := tx.QueryRow(ctx, batchSQL, ids, a.opts.PathPattern, a.opts.PathFormat, fallback, keepOrder).Scan(&n); err != nil {
				return fmt.Errorf("normalizing products %s..%s: %w", ids[0], ids[len(ids)-1], err)
			}
			changed += n
			if a.opts.AfterBatch != nil {
				if err := a.opts.AfterBatch(batches); err != nil {
					return err
				}
			}
			if cursor {
				return saveDetail(ctx, tx, "normalize", map[string]any{"after": ids[len(ids)-1].String()})
			}
			return nil
		})
	}
	for {
		var ids []uuid.UUID
		if err := a.db.pool.QueryRow(ctx, query("next_products"), after, a.opts.BatchSize).Scan(&ids); err != nil {
			return nil, fmt.Errorf("finding the next products: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		if err := run(ids, false, true); err != nil {
			return nil, err
		}
		batches++
		products += len(ids)
		after = ids[len(ids)-1]
		if batches%100 == 0 {
			a.log.Info("adopt: normalizing", "products", products, "rows_changed", changed,
				"seconds", fmt.Sprintf("%.1f", time.Since(t0).Seconds()))
		}
	}
	// The sweep: galleries broken after the pass reached them.
	var broken []uuid.UUID
	if err := a.db.pool.QueryRow(ctx, query("broken_galleries")).Scan(&broken); err != nil {
		return nil, fmt.Errorf("looking for galleries to renumber again: %w", err)
	}
	for len(broken) > 0 {
		n := min(len(broken), a.opts.BatchSize)
		if err := run(broken[:n], true, false); err != nil {
			return nil, err
		}
		broken = broken[n:]
	}
	return map[string]any{
		"products": products, "batches": batches, "rows_changed": changed,
		"objects_listed": objects, "overrides": len(a.opts.Overrides), "fallback_time": fallback.Format(time.RFC3339Nano),
	}, nil
}

// loadObjectTimes copies the store's listing (key, Last-Modified) into
// vitrine_adopt_object_times, replacing what an earlier run loaded.
func (a *adopter) loadObjectTimes(ctx context.Context) (int64, error) {
	if _, err := a.db.pool.Exec(ctx, query("object_times_clear")); err != nil {
		return 0, err
	}
	if a.opts.ObjectTimes == nil {
		return 0, nil
	}
	const chunk = 10000
	var rows [][]any
	var total int64
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		n, err := a.db.pool.CopyFrom(ctx, pgx.Identifier{"vitrine_adopt_object_times"}, []string{"key", "modified"}, pgx.CopyFromRows(rows))
		total += n
		rows = rows[:0]
		return err
	}
	err := a.opts.ObjectTimes(ctx, func(key string, modified time.Time) error {
		rows = append(rows, []any{key, modified})
		if len(rows) >= chunk {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return total, fmt.Errorf("loading the store's object times: %w", err)
	}
	a.log.Info("adopt: object times loaded", "objects", total)
	return total, nil
}

// loadOverrides copies the overrides into vitrine_adopt_overrides and refuses any that names
// an image that is not in the product it names.
func (a *adopter) loadOverrides(ctx context.Context) error {
	if _, err := a.db.pool.Exec(ctx, query("overrides_clear")); err != nil {
		return err
	}
	if len(a.opts.Overrides) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(a.opts.Overrides))
	for _, o := range a.opts.Overrides {
		rows = append(rows, []any{o.ImageID, o.ProductID, o.Order})
	}
	if _, err := a.db.pool.CopyFrom(ctx, pgx.Identifier{"vitrine_adopt_overrides"}, []string{"image_id", "product_id", "image_order"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("loading the overrides (is an image named twice?): %w", err)
	}
	samples, count, err := a.db.samples(ctx, "overrides_mismatched")
	if err != nil {
		return err
	}
	if count > 0 {
		return fmt.Errorf("%d overrides name an image that is not in the product they name: %s", count, strings.Join(samples, "; "))
	}
	return nil
}

// samples runs a problem query (rows of a sample text and the total count).
func (db *DB) samples(ctx context.Context, name string) ([]string, int64, error) {
	rows, err := db.pool.Query(ctx, query(name))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	defer rows.Close()
	var out []string
	var total int64
	for rows.Next() {
		var s string
		if err := rows.Scan(&s, &total); err != nil {
			return nil, 0, err
		}
		out = append(out, s)
	}
	return out, total, rows.Err()
}
