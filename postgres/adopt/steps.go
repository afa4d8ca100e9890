package adopt

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// schema adds what the legacy tables lack and installs the gallery core while the shop keeps
// running: River's tables, the functions, the missing columns (one ALTER TABLE per table,
// which rewrites no row: every new column is NULL or has a constant default), the defaults, the
// triggers, the view, roles, grants, policies and row-level security (enabled, not yet forced,
// so the owner running adopt still sees every row), the maintenance flag (00005) and the
// thumbnail-record rule (00008).
func (a *adopter) schema(ctx context.Context, _ map[string]any) (map[string]any, error) {
	if err := a.db.MigrateRiver(ctx); err != nil {
		return nil, err
	}
	stmts, err := coveredStatements()
	if err != nil {
		return nil, err
	}
	// Functions first: the triggers need them.
	for _, s := range stmts {
		if s.kind == replayReplace && strings.HasPrefix(s.sql, "CREATE OR REPLACE FUNCTION") {
			if err := a.ddl(ctx, s.sql); err != nil {
				return nil, fmt.Errorf("creating a function: %w", err)
			}
		}
	}
	added := map[string]any{}
	for _, t := range []struct {
		name string
		spec []adoptColumn
	}{{"products", adoptProducts}, {"product_images", adoptImages}} {
		have, err := a.db.tableColumns(ctx, t.name)
		if err != nil {
			return nil, err
		}
		add, err := missingColumns(t.name, t.spec, have)
		if err != nil {
			return nil, err
		}
		for i, c := range add {
			if t.name == "product_images" && c == "ADD COLUMN created_at timestamptz" {
				// Legacy rows read as the fallback time (a fast default: no row is written)
				// until the normalization dates them; the default becomes now() right after.
				add[i] = fmt.Sprintf("ADD COLUMN created_at timestamptz NOT NULL DEFAULT '%s'", a.fallback.Format(time.RFC3339Nano))
			}
		}
		if len(add) > 0 {
			a.log.Info("adopt: adding columns", "table", t.name, "columns", len(add))
			t0 := time.Now()
			if err := a.ddl(ctx, template(sqlAddColumns, "table", t.name, "columns", strings.Join(add, ", "))); err != nil {
				return nil, fmt.Errorf("adding columns to %s: %w", t.name, err)
			}
			// The table is locked (reads too) for as long as this takes: report it.
			added[t.name+"_columns_added"] = len(add)
			added[t.name+"_alter_seconds"] = time.Since(t0).Seconds()
			a.log.Info("adopt: columns added", "table", t.name, "locked_seconds", fmt.Sprintf("%.3f", time.Since(t0).Seconds()))
		}
		if have, err = a.db.tableColumns(ctx, t.name); err != nil {
			return nil, err
		}
		for _, c := range t.spec {
			if c.def != "" && have[c.name].def != c.def {
				if err := a.ddl(ctx, template(sqlSetDefault, "table", t.name, "column", c.name, "expr", c.def)); err != nil {
					return nil, fmt.Errorf("setting the default of %s.%s: %w", t.name, c.name, err)
				}
			}
		}
	}
	for _, s := range stmts {
		switch {
		case s.kind == replaySkip:
		case s.kind == replayReplace && strings.HasPrefix(s.sql, "CREATE OR REPLACE FUNCTION"):
		case s.kind == replayLocking && strings.Contains(s.sql, " FORCE "):
			// The finish step forces row-level security, once adopt's own writes are done.
		case s.kind == replayPolicy:
			var exists bool
			if err := a.db.pool.QueryRow(ctx, sqlPolicyExists, s.policy[0], s.policy[1]).Scan(&exists); err != nil {
				return nil, err
			}
			if !exists {
				if err := a.ddl(ctx, s.sql); err != nil {
					return nil, fmt.Errorf("creating policy %s: %w", s.policy[1], err)
				}
			}
		default:
			if err := a.ddl(ctx, s.sql); err != nil {
				return nil, fmt.Errorf("replaying %.50q: %w", s.sql, err)
			}
		}
	}
	early, err := earlyStatements()
	if err != nil {
		return nil, err
	}
	for _, s := range early {
		if err := a.ddl(ctx, s); err != nil {
			return nil, fmt.Errorf("installing the maintenance flag, the thumbnail rule and product titles: %w", err)
		}
	}
	tag, err := a.db.pool.Exec(ctx, sqlFillNullImageIds)
	if err != nil {
		return nil, fmt.Errorf("giving ids to images without one: %w", err)
	}
	added["image_ids_given"] = tag.RowsAffected()
	return added, nil
}

// nullOrder stands for a NULL image_order until the normalization renumbers the gallery: after
// every real order, and far enough below the largest integer for appends to go on.
const nullOrder = 1_000_000_000

// fill gives every row what Vitrine's reads need before the API may serve the database:
// storage_path, created_at (the fallback time) and an image_order, in batches of blocks (by
// ctid, so no index is needed), each its own transaction with the cursor saved. Only NULLs are
// changed; the normalization decides the real values.
func (a *adopter) fill(ctx context.Context, detail map[string]any) (map[string]any, error) {
	const blocksPerBatch = 1000
	var end int64
	if v, ok := detail["end_block"].(float64); ok {
		end = int64(v)
	} else if err := a.db.pool.QueryRow(ctx, sqlRelationBlocks).Scan(&end); err != nil {
		return nil, err
	}
	next, _ := detail["next_block"].(float64)
	var filled int64
	for from := int64(next); from < end; from += blocksPerBatch {
		to := min(from+blocksPerBatch, end)
		err := inReadCommitted(ctx, a.db.pool, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, sqlFillBlocks, from, to, a.fallback, nullOrder)
			if err != nil {
				return err
			}
			filled += tag.RowsAffected()
			return saveDetail(ctx, tx, "fill", map[string]any{"end_block": end, "next_block": to})
		})
		if err != nil {
			return nil, fmt.Errorf("filling blocks %d..%d: %w", from, to, err)
		}
	}
	tag, err := a.db.pool.Exec(ctx, sqlFillRest, a.fallback, nullOrder)
	if err != nil {
		return nil, fmt.Errorf("filling rows written meanwhile: %w", err)
	}
	a.log.Info("adopt: Vitrine may serve this database from now on")
	return map[string]any{"rows_filled": filled + tag.RowsAffected(), "blocks": end}, nil
}

// ddl runs a schema statement with adopt's lock timeout and retries.
func (a *adopter) ddl(ctx context.Context, sql string) error {
	return ddl(ctx, a.db.pool, a.opts.LockTimeout, a.opts.Retries, sql)
}

// ensureIndex builds an index concurrently unless a valid one of that name exists; an invalid
// one (left by a failed or interrupted build) is dropped and rebuilt. A build that fails on a
// lock timeout is retried from scratch.
func (a *adopter) ensureIndex(ctx context.Context, ix adoptIndex) (built bool, err error) {
	unique := ""
	if ix.unique {
		unique = "UNIQUE"
	}
	for attempt := 0; ; attempt++ {
		var exists, valid bool
		if err := a.db.pool.QueryRow(ctx, sqlIndexState, ix.name).Scan(&exists, &valid); err != nil {
			return false, err
		}
		if exists && valid {
			return built, nil
		}
		if exists {
			a.log.Warn("adopt: dropping an invalid index left by an earlier build", "index", ix.name)
			if err := a.ddl(ctx, template(sqlDropIndexConcurrently, "name", ix.name)); err != nil {
				return false, fmt.Errorf("dropping invalid index %s: %w", ix.name, err)
			}
		}
		err := a.ddl(ctx, template(sqlCreateIndexConcurrently, "unique", unique, "name", ix.name, "table", ix.table, "expr", ix.def))
		if err == nil {
			built = true
			continue // look again: the index must now be valid
		}
		if !isLockTimeout(err) || attempt >= a.opts.Retries {
			return false, fmt.Errorf("building index %s: %w", ix.name, err)
		}
		a.log.Warn("adopt: index build timed out waiting for a lock; retrying", "index", ix.name, "attempt", attempt+1)
	}
}

// indexes builds, concurrently, the primary keys' indexes a legacy table lacks, the helper
// index on (product_id, image_order) that the normalization and the API's appends read, and
// the indexes of migrations 00001 and 00002.
func (a *adopter) indexes(ctx context.Context, _ map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, ix := range adoptIndexes {
		cons, err := a.db.tableConstraints(ctx, ix.table)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(ix.name, "_pkey") && hasPrimaryKey(cons) {
			continue
		}
		built, err := a.ensureIndex(ctx, ix)
		if err != nil {
			return nil, err
		}
		if built {
			out[ix.name] = "built"
		}
	}
	return out, nil
}

func hasPrimaryKey(cons map[string]constraint) bool {
	for _, c := range cons {
		if c.typ == "p" {
			return true
		}
	}
	return false
}

// constraints adds Vitrine's integrity rules without long locks: the products that images
// name but that do not exist (created unpublished), NOT NULL (through a validated CHECK, so
// SET NOT NULL need not scan), the CHECKs (NOT VALID, then VALIDATE, which lets reads and
// writes go on), the primary keys (on the indexes built earlier) and the foreign key.
func (a *adopter) constraints(ctx context.Context, _ map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if a.opts.DefaultSupplier != nil {
		tag, err := a.db.pool.Exec(ctx, sqlFillNullSuppliers, *a.opts.DefaultSupplier)
		if err != nil {
			return nil, fmt.Errorf("giving products without a supplier the default one: %w", err)
		}
		out["products_given_default_supplier"] = tag.RowsAffected()
	}
	tag, err := a.db.pool.Exec(ctx, sqlCreateMissingProducts, a.opts.OrphanSupplier)
	if err != nil {
		return nil, fmt.Errorf("creating the missing products: %w", err)
	}
	out["products_created"] = tag.RowsAffected()
	for _, t := range []struct {
		name string
		spec []adoptColumn
	}{{"products", adoptProducts}, {"product_images", adoptImages}} {
		if err := a.tableConstraintsFor(ctx, t.name, t.spec); err != nil {
			return nil, err
		}
	}
	cons, err := a.db.tableConstraints(ctx, "product_images")
	if err != nil {
		return nil, err
	}
	if _, ok := cons["product_images_product_id_fkey"]; !ok {
		if err := a.ddl(ctx, sqlAddForeignKeyNotValid); err != nil {
			return nil, fmt.Errorf("adding the foreign key: %w", err)
		}
		cons["product_images_product_id_fkey"] = constraint{typ: "f"}
	}
	if !cons["product_images_product_id_fkey"].validated {
		if err := a.ddl(ctx, template(sqlValidateConstraint, "table", "product_images", "name", "product_images_product_id_fkey")); err != nil {
			return nil, fmt.Errorf("validating the foreign key: %w", err)
		}
	}
	return out, nil
}

// tableConstraintsFor gives table the NOT NULLs, CHECKs and primary key of spec.
func (a *adopter) tableConstraintsFor(ctx context.Context, table string, spec []adoptColumn) error {
	cols, err := a.db.tableColumns(ctx, table)
	if err != nil {
		return err
	}
	cons, err := a.db.tableConstraints(ctx, table)
	if err != nil {
		return err
	}
	for _, c := range spec {
		if c.notNull && !cols[c.name].notNull {
			name := notNullCheckName(table, c.name)
			if err := a.addValidCheck(ctx, table, name, c.name+" IS NOT NULL", cons); err != nil {
				return err
			}
			if err := a.ddl(ctx, template(sqlSetNotNull, "table", table, "column", c.name)); err != nil {
				return fmt.Errorf("setting %s.%s NOT NULL: %w", table, c.name, err)
			}
			if err := a.ddl(ctx, template(sqlDropConstraint, "table", table, "name", name)); err != nil {
				return err
			}
		}
		if c.check != "" {
			if err := a.addValidCheck(ctx, table, checkName(table, c.name), c.check, cons); err != nil {
				return err
			}
		}
	}
	if !hasPrimaryKey(cons) {
		if err := a.ddl(ctx, template(sqlAddPrimaryKeyUsingIndex, "table", table, "name", table+"_pkey")); err != nil {
			return fmt.Errorf("adding the primary key of %s: %w", table, err)
		}
	}
	return nil
}

// addValidCheck adds CHECK (expr) as name NOT VALID unless it exists, then validates it.
func (a *adopter) addValidCheck(ctx context.Context, table, name, expr string, cons map[string]constraint) error {
	c, ok := cons[name]
	if !ok {
		if err := a.ddl(ctx, template(sqlAddCheckNotValid, "table", table, "name", name, "expr", expr)); err != nil {
			return fmt.Errorf("adding %s: %w", name, err)
		}
	}
	if !c.validated {
		if err := a.ddl(ctx, template(sqlValidateConstraint, "table", table, "name", name)); err != nil {
			return fmt.Errorf("validating %s: %w", name, err)
		}
	}
	return nil
}

// finish drops what adopt used on the way, forces row-level security as 00003 does, records
// migrations up to adoptCovers as applied in goose's table and applies the later ones.
func (a *adopter) finish(ctx context.Context, _ map[string]any) (map[string]any, error) {
	if err := a.ddl(ctx, template(sqlDropIndexConcurrently, "name", adoptHelperIndex)); err != nil {
		return nil, fmt.Errorf("dropping the helper index: %w", err)
	}
	if _, err := a.db.pool.Exec(ctx, sqlParseTimeDrop); err != nil {
		return nil, err
	}
	if _, err := a.db.pool.Exec(ctx, sqlObjectTimesClear); err != nil {
		return nil, err
	}
	stmts, err := coveredStatements()
	if err != nil {
		return nil, err
	}
	for _, s := range stmts {
		if s.kind == replayLocking && strings.Contains(s.sql, " FORCE ") {
			if err := a.ddl(ctx, s.sql); err != nil {
				return nil, fmt.Errorf("forcing row-level security: %w", err)
			}
		}
	}
	if err := a.db.markCovered(ctx); err != nil {
		return nil, err
	}
	n, err := a.db.Migrate(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"goose_versions_marked": adoptCovers, "later_migrations_applied": n}, nil
}

// markCovered records goose versions 1 to adoptCovers as applied.
func (db database) markCovered(ctx context.Context) error {
	versions := make([]int64, 0, adoptCovers)
	for v := int64(1); v <= adoptCovers; v++ {
		versions = append(versions, v)
	}
	return db.MarkApplied(ctx, versions)
}

// The statements this file runs, next to the code that runs them.
const (
	sqlRelationBlocks = `SELECT (pg_relation_size('product_images') / current_setting('block_size')::bigint)::bigint;`

	// Fills, in the blocks [$1, $2) of product_images, what Vitrine's reads cannot take NULL:
	// storage_path (from image_url, as insert_image_with_order does), created_at (the fallback
	// time $3, refined by the normalization) and image_order ($4, after every real order, until
	// the normalization renumbers the gallery).
	sqlFillBlocks = `UPDATE product_images
   SET storage_path = coalesce(storage_path, image_url),
       created_at = coalesce(created_at, $3::timestamptz),
       image_order = coalesce(image_order, $4::integer)
 WHERE ctid >= format('(%s,0)', $1::bigint)::tid AND ctid < format('(%s,0)', $2::bigint)::tid
   AND (storage_path IS NULL OR created_at IS NULL OR image_order IS NULL);`

	// The same for rows written meanwhile anywhere in the table.
	sqlFillRest = `UPDATE product_images
   SET storage_path = coalesce(storage_path, image_url),
       created_at = coalesce(created_at, $1::timestamptz),
       image_order = coalesce(image_order, $2::integer)
 WHERE storage_path IS NULL OR created_at IS NULL OR image_order IS NULL;`

	// Rows without an id get one (the plan lists them); every later step keys rows by id.
	sqlFillNullImageIds = `UPDATE product_images SET id = gen_random_uuid() WHERE id IS NULL;`

	sqlObjectTimesClear = `TRUNCATE vitrine_adopt_object_times;`

	sqlParseTimeDrop = `DROP FUNCTION IF EXISTS vitrine_adopt_parse_time(text, text);`

	// Creates, unpublished and owned by $1, the products that images name but that do not exist.
	sqlCreateMissingProducts = `INSERT INTO products (id, supplier_id)
SELECT DISTINCT i.product_id, $1::uuid FROM product_images AS i
WHERE i.product_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM products AS p WHERE p.id = i.product_id)
ON CONFLICT (id) DO NOTHING;`

	sqlFillNullSuppliers = `UPDATE products SET supplier_id = $1 WHERE supplier_id IS NULL;`

	sqlAddColumns = `ALTER TABLE {{table}} {{columns}};`

	sqlSetDefault = `ALTER TABLE {{table}} ALTER COLUMN {{column}} SET DEFAULT {{expr}};`

	// A CHECK added NOT VALID holds for new rows at once and takes only a brief lock; VALIDATE
	// then scans the table under a lock that lets reads and writes go on.
	sqlAddCheckNotValid = `ALTER TABLE {{table}} ADD CONSTRAINT {{name}} CHECK ({{expr}}) NOT VALID;`

	sqlValidateConstraint = `ALTER TABLE {{table}} VALIDATE CONSTRAINT {{name}};`

	// With a validated CHECK (column IS NOT NULL) in place PostgreSQL skips the table scan.
	sqlSetNotNull = `ALTER TABLE {{table}} ALTER COLUMN {{column}} SET NOT NULL;`

	sqlDropConstraint = `ALTER TABLE {{table}} DROP CONSTRAINT IF EXISTS {{name}};`

	sqlAddForeignKeyNotValid = `ALTER TABLE product_images ADD CONSTRAINT product_images_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE NOT VALID;`

	// Never in a transaction; a failed build leaves an INVALID index, dropped before a retry.
	sqlCreateIndexConcurrently = `CREATE {{unique}} INDEX CONCURRENTLY {{name}} ON {{table}} {{expr}};`

	sqlDropIndexConcurrently = `DROP INDEX CONCURRENTLY IF EXISTS {{name}};`

	sqlAddPrimaryKeyUsingIndex = `ALTER TABLE {{table}} ADD CONSTRAINT {{name}} PRIMARY KEY USING INDEX {{name}};`

	// $1 index name: whether it exists, and whether it is valid (a failed concurrent build leaves
	// an invalid one behind).
	sqlIndexState = `SELECT count(*) > 0, coalesce(bool_and(i.indisvalid), false)
FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace;`

	sqlPolicyExists = `SELECT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND tablename = $1 AND policyname = $2);`
)
