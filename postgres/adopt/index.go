package adopt

import (
	"context"
	"fmt"
	"time"
)

// orderIndex is the unique index that backs product_images_product_order_key; adopt builds it
// under the constraint's name, so that the constraint keeps the name 00001 gives it.
var orderIndex = adoptIndex{table: "product_images", name: "product_images_product_order_key",
	def: "(product_id, image_order)", unique: true}

// uniqueIndex builds the unique index on (product_id, image_order) and makes it the DEFERRABLE
// constraint of 00001. It first checks that no duplicates remain and stops with a
// *DuplicateOrdersError listing them otherwise. An index left INVALID by an earlier failed
// build is dropped and rebuilt. The build runs CONCURRENTLY, outside any transaction, with
// lock_timeout and bounded retries, while image writes are paused: from the moment the build
// starts checking uniqueness until the constraint is in place, the index is not deferrable,
// so the API's reorders (one UPDATE shifting a run of orders) could fail half-way, and a
// legacy writer could add a duplicate that fails the build. Reads go on throughout.
func (a *adopter) uniqueIndex(ctx context.Context, _ map[string]any) (map[string]any, error) {
	out := map[string]any{}
	cons, err := a.db.tableConstraints(ctx, "product_images")
	if err != nil {
		return nil, err
	}
	if _, ok := cons[orderIndex.name]; ok {
		return out, nil // a crash after the constraint was added
	}
	if err := a.db.checkNoDuplicateOrders(ctx); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		var exists, valid bool
		if err := a.db.pool.QueryRow(ctx, sqlIndexState, orderIndex.name).Scan(&exists, &valid); err != nil {
			return nil, err
		}
		if exists && !valid {
			a.log.Warn("adopt: dropping an invalid unique index left by an earlier build", "index", orderIndex.name)
			if err := a.ddl(ctx, template(sqlDropIndexConcurrently, "name", orderIndex.name)); err != nil {
				return nil, fmt.Errorf("dropping the invalid index: %w", err)
			}
			out["invalid_index_dropped"] = true
		}
		window, err := a.pausedBuild(ctx, exists && valid)
		if window > 0 {
			a.result.WritesPaused = max(a.result.WritesPaused, window)
			out["writes_paused_seconds"] = window.Seconds()
			a.log.Info("adopt: image writes resumed", "paused_seconds", fmt.Sprintf("%.3f", window.Seconds()))
		}
		switch {
		case err == nil:
			out["attempts"] = attempt + 1
			return out, nil
		case isUniqueViolation(err):
			// A writer outside Vitrine added a duplicate between the check and the pause.
			a.dropInvalidOrderIndex(ctx)
			if derr := a.db.checkNoDuplicateOrders(ctx); derr != nil {
				return out, derr
			}
			return out, fmt.Errorf("building the unique index: %w", err)
		case isLockTimeout(err) && attempt < a.opts.Retries:
			a.log.Warn("adopt: the unique index build timed out waiting for a lock; retrying", "attempt", attempt+1)
			a.dropInvalidOrderIndex(ctx)
			select {
			case <-ctx.Done():
				return out, ctx.Err()
			case <-time.After(time.Duration(attempt+1) * time.Second):
			}
		default:
			return out, err
		}
	}
}

// pausedBuild pauses image writes, builds the index (unless built is true: a valid index an
// interrupted run left), makes it the constraint and resumes writes. It returns how long
// writes were paused.
func (a *adopter) pausedBuild(ctx context.Context, built bool) (time.Duration, error) {
	t0 := time.Now()
	a.log.Info("adopt: pausing image writes for the unique index")
	if err := a.db.PauseWrites(ctx, "building the unique index of product_images", a.opts.PauseTTL, a.opts.LockTimeout); err != nil {
		return time.Since(t0), err
	}
	defer func() {
		if err := a.db.ResumeWrites(context.WithoutCancel(ctx)); err != nil {
			a.log.Error("adopt: resuming writes", "error", err)
		}
	}()
	if a.opts.DuringPause != nil {
		if err := a.opts.DuringPause(ctx); err != nil {
			return time.Since(t0), err
		}
	}
	if !built {
		t := time.Now()
		err := ddl(ctx, a.db.pool, a.opts.LockTimeout, 0, template(sqlCreateIndexConcurrently,
			"unique", "UNIQUE", "name", orderIndex.name, "table", orderIndex.table, "expr", orderIndex.def))
		if err != nil {
			return time.Since(t0), err
		}
		a.log.Info("adopt: unique index built", "seconds", fmt.Sprintf("%.3f", time.Since(t).Seconds()))
	}
	err := a.ddl(ctx, sqlAddUniqueUsingIndex)
	return time.Since(t0), err
}

// dropInvalidOrderIndex drops what a failed build left; a failure here is left to the next
// attempt or run, which finds the invalid index again.
func (a *adopter) dropInvalidOrderIndex(ctx context.Context) {
	var exists, valid bool
	if err := a.db.pool.QueryRow(ctx, sqlIndexState, orderIndex.name).Scan(&exists, &valid); err != nil || !exists || valid {
		return
	}
	if err := a.ddl(ctx, template(sqlDropIndexConcurrently, "name", orderIndex.name)); err != nil {
		a.log.Error("adopt: dropping the invalid unique index", "error", err)
	}
}

// checkNoDuplicateOrders returns a *DuplicateOrdersError listing (up to 100 of) the pairs that
// more than one image holds, or nil.
func (db database) checkNoDuplicateOrders(ctx context.Context) error {
	rows, err := db.pool.Query(ctx, sqlDuplicateOrders, 100)
	if err != nil {
		return fmt.Errorf("looking for duplicate orders: %w", err)
	}
	defer rows.Close()
	var dup DuplicateOrdersError
	for rows.Next() {
		var p DuplicateOrder
		var order *int
		if err := rows.Scan(&p.ProductID, &order, &p.ImageIDs); err != nil {
			return err
		}
		if order == nil {
			p.Order = -1 // NULL orders: the constraints step refuses them before this
		} else {
			p.Order = *order
		}
		dup.Pairs = append(dup.Pairs, p)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(dup.Pairs) > 0 {
		return &dup
	}
	return nil
}

// The statements this file runs, next to the code that runs them.
const (
	// Every pair (product_id, image_order) that more than one image holds, with the images.
	sqlDuplicateOrders = `SELECT product_id, image_order, array_agg(id ORDER BY id)
FROM product_images GROUP BY product_id, image_order HAVING count(*) > 1
ORDER BY product_id, image_order LIMIT $1;`

	// DEFERRABLE INITIALLY IMMEDIATE as in 00001: uniqueness is checked at the end of each
	// statement, so one UPDATE can shift a run of orders by one. PostgreSQL marks the index
	// itself deferrable (pg_index.indimmediate = false).
	sqlAddUniqueUsingIndex = `ALTER TABLE product_images ADD CONSTRAINT product_images_product_order_key
    UNIQUE USING INDEX product_images_product_order_key DEFERRABLE INITIALLY IMMEDIATE;`
)
