package adopt

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
	batchSQL := strings.ReplaceAll(sqlNormalizeBatch, "{{order_by}}", orderBy)
	if _, err := a.db.pool.Exec(ctx, sqlParseTimeCreate); err != nil {
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
			if _, err := tx.Exec(ctx, sqlBatchPlans); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, sqlLockProducts, ids); err != nil {
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
		if err := a.db.pool.QueryRow(ctx, sqlNextProducts, after, a.opts.BatchSize).Scan(&ids); err != nil {
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
	if err := a.db.pool.QueryRow(ctx, sqlBrokenGalleries).Scan(&broken); err != nil {
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
	if _, err := a.db.pool.Exec(ctx, sqlObjectTimesClear); err != nil {
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
	if _, err := a.db.pool.Exec(ctx, sqlOverridesClear); err != nil {
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
	samples, count, err := a.db.samples(ctx, "overrides naming an image of another product", sqlOverridesMismatched)
	if err != nil {
		return err
	}
	if count > 0 {
		return fmt.Errorf("%d overrides name an image that is not in the product they name: %s", count, strings.Join(samples, "; "))
	}
	return nil
}

// samples runs a problem query, which answers rows of a sample text and the total count;
// what names the problem in errors.
func (db database) samples(ctx context.Context, what, sql string) ([]string, int64, error) {
	rows, err := db.pool.Query(ctx, sql)
	if err != nil {
		return nil, 0, fmt.Errorf("checking %s: %w", what, err)
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

// The statements this file runs, next to the code that runs them.
const (
	sqlOverridesClear = `TRUNCATE vitrine_adopt_overrides;`

	// Overrides that name an image that is not in the product they name.
	sqlOverridesMismatched = `SELECT o.product_id::text || ' / ' || o.image_id::text, count(*) OVER ()
FROM vitrine_adopt_overrides o
WHERE NOT EXISTS (SELECT 1 FROM product_images i WHERE i.id = o.image_id AND i.product_id = o.product_id)
ORDER BY o.product_id, o.image_id LIMIT 5;`

	// vitrine_adopt_parse_time reads a timestamp out of text: unix seconds, unix milliseconds, or a
	// to_timestamp format; NULL when the text does not hold one. It lives only while adopt runs.
	sqlParseTimeCreate = `CREATE OR REPLACE FUNCTION vitrine_adopt_parse_time(p_text text, p_format text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_text IS NULL OR p_format IS NULL OR p_format = '' THEN
        RETURN NULL;
    END IF;
    RETURN CASE p_format
        WHEN 'unix' THEN to_timestamp(p_text::double precision)
        WHEN 'unix_ms' THEN to_timestamp(p_text::double precision / 1000)
        ELSE to_timestamp(p_text, p_format)
    END;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END;
$$;`

	// The next batch of products with images, in id order, after $1 ($2 of them).
	sqlNextProducts = `SELECT coalesce(array_agg(product_id ORDER BY product_id), '{}') FROM (
    SELECT DISTINCT product_id FROM product_images
    WHERE product_id > $1 ORDER BY product_id LIMIT $2
) AS b;`

	// The gallery locks of the API (vitrine_lock_product), in id order, until the transaction ends.
	sqlLockProducts = `SELECT count(pg_advisory_xact_lock(vitrine_product_lock_key(p)))
FROM (SELECT unnest($1::uuid[]) AS p ORDER BY 1) AS s;`

	// Normalizes the galleries of the products $1: fills storage_path (from image_url) and dates
	// the images whose created_at is the fallback time $4 (the store's time of the object, else a
	// time read from the path with pattern $2 and format $3, else $4 stays), then numbers each gallery 0..n-1 by the overrides first, then
	// {{order_by}}, then id. $5 true keeps the current order ahead of the criterion (the sweep of
	// galleries written during the adoption). Records where each filled created_at came from and
	// returns how many rows changed.
	sqlNormalizeBatch = `WITH filled AS (
    SELECT i.id, i.product_id, i.image_url, i.image_order,
           coalesce(i.storage_path, i.image_url) AS storage_path,
           CASE WHEN i.created_at IS NOT NULL AND i.created_at <> $4::timestamptz THEN i.created_at
                ELSE coalesce(t.store, t.path, $4::timestamptz) END AS created_at,
           CASE WHEN i.created_at IS NOT NULL AND i.created_at <> $4::timestamptz THEN NULL
                WHEN t.store IS NOT NULL THEN 'store'
                WHEN t.path IS NOT NULL THEN 'path'
                ELSE 'fallback' END AS source,
           o.image_order AS override
    FROM product_images AS i
    LEFT JOIN vitrine_adopt_overrides AS o ON o.image_id = i.id AND o.product_id = i.product_id
    LEFT JOIN LATERAL (
        SELECT (SELECT modified FROM vitrine_adopt_object_times WHERE key = coalesce(i.storage_path, i.image_url)) AS store,
               CASE WHEN (i.created_at IS NULL OR i.created_at = $4::timestamptz) AND $2::text <> ''
                    THEN vitrine_adopt_parse_time(substring(coalesce(i.storage_path, i.image_url) FROM $2::text), $3::text) END AS path
    ) AS t ON true
    WHERE i.product_id = ANY ($1::uuid[])
), ranked AS (
    SELECT f.*, row_number() OVER (PARTITION BY f.product_id
        ORDER BY f.override NULLS LAST, CASE WHEN $5::boolean THEN f.image_order END NULLS LAST, {{order_by}}, f.id) - 1 AS new_order
    FROM filled AS f
), changed AS (
    UPDATE product_images AS i
       SET image_order = r.new_order, created_at = r.created_at, storage_path = r.storage_path
      FROM ranked AS r
     WHERE i.id = r.id
       AND (i.image_order IS DISTINCT FROM r.new_order OR i.created_at IS DISTINCT FROM r.created_at
            OR i.storage_path IS DISTINCT FROM r.storage_path)
    RETURNING r.id, r.source
), recorded AS (
    INSERT INTO vitrine_adopt_created_at (image_id, source)
    SELECT id, source FROM ranked WHERE source IS NOT NULL
    ON CONFLICT (image_id) DO NOTHING
)
SELECT count(*) FROM changed;`

	// Products whose orders are not exactly 0..n-1 (written meanwhile by something other than
	// Vitrine's functions), or that still have rows without storage_path or created_at.
	sqlBrokenGalleries = `SELECT coalesce(array_agg(product_id ORDER BY product_id), '{}') FROM (
    SELECT product_id FROM product_images
    GROUP BY product_id
    HAVING bool_or(image_order IS NULL) OR min(image_order) <> 0 OR max(image_order) <> count(*) - 1
        OR count(DISTINCT image_order) <> count(*)
        OR bool_or(storage_path IS NULL) OR bool_or(created_at IS NULL)
) AS b;`

	// For the transaction: plan each normalization batch for its own products (a generic plan,
	// which PostgreSQL may cache after five runs, cannot see how few rows "product_id = ANY ($1)"
	// selects), and update its rows through the primary key: PostgreSQL cannot estimate how many
	// rows a CTE yields and would otherwise hash the whole table for every batch.
	sqlBatchPlans = `SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('enable_hashjoin', 'off', true),
       set_config('enable_mergejoin', 'off', true);`
)
