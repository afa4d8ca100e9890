package adopt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// adoptColumn is one column of Vitrine's schema (migrations 00001 to 00003, 00014's and 00015's) as adopt builds
// it on a legacy table.
type adoptColumn struct {
	name, typ string
	add       string // the ADD COLUMN clause; "" when a legacy table must have the column already
	def       string // the default Vitrine's column has, set when missing
	notNull   bool   // NOT NULL in Vitrine's schema (set by the constraints step when add does not)
	check     string // the column's CHECK, named <table>_<column>_check
}

var adoptProducts = []adoptColumn{
	{name: "id", typ: "uuid", def: "gen_random_uuid()", notNull: true},
	{name: "supplier_id", typ: "uuid", add: "uuid", notNull: true},
	{name: "created_at", typ: "timestamp with time zone", add: "timestamptz NOT NULL DEFAULT now()", def: "now()", notNull: true},
	{name: "updated_at", typ: "timestamp with time zone", add: "timestamptz NOT NULL DEFAULT now()", def: "now()", notNull: true},
	{name: "published", typ: "boolean", add: "boolean NOT NULL DEFAULT false", def: "false", notNull: true},
	// The supplier's reference of a product (00015), which the API it keeps serving reads with
	// every product; 00015 adds it only where it is missing.
	{name: "external_ref", typ: "text", add: "text", check: "char_length(external_ref) >= 1 AND char_length(external_ref) <= 200"},
}

var adoptImages = []adoptColumn{
	{name: "id", typ: "uuid", def: "gen_random_uuid()", notNull: true},
	{name: "product_id", typ: "uuid", notNull: true},
	{name: "image_url", typ: "text", notNull: true},
	{name: "storage_path", typ: "text", add: "text", notNull: true},
	{name: "content_sha256", typ: "text", add: "text", check: "content_sha256 ~ '^[0-9a-f]{64}$'"},
	{name: "byte_size", typ: "bigint", add: "bigint", check: "byte_size >= 0"},
	{name: "width", typ: "integer", add: "integer", check: "width > 0"},
	{name: "height", typ: "integer", add: "integer", check: "height > 0"},
	{name: "media_type", typ: "text", add: "text"},
	{name: "alt", typ: "text", add: "text NOT NULL DEFAULT ''", def: "''::text", notNull: true, check: "char_length(alt) <= 1000"},
	{name: "image_order", typ: "integer", notNull: true, check: "image_order >= 0"},
	{name: "thumbnails", typ: "jsonb", add: "jsonb"},
	{name: "thumbnail_url", typ: "text", add: "text"},
	// Added without a default so that legacy rows stay NULL until the back-fill; the default
	// is set right after, so that rows written meanwhile get now().
	{name: "created_at", typ: "timestamp with time zone", add: "timestamptz", def: "now()", notNull: true},
	{name: "updated_at", typ: "timestamp with time zone", add: "timestamptz NOT NULL DEFAULT now()", def: "now()", notNull: true},
	{name: "variants", typ: "jsonb", add: "jsonb"},
	{name: "thumbhash", typ: "text", add: "text"},
	{name: "dominant_color", typ: "text", add: "text", check: "dominant_color ~ '^#[0-9a-f]{6}$'"},
	// Kept by a trigger, with a constant default: added without rewriting the table.
	{name: "variant_keys", typ: "text[]", add: "text[] NOT NULL DEFAULT '{}'", def: "'{}'::text[]", notNull: true},
	// The columns of imports by URL (00014), which the API it keeps serving reads with every
	// image; 00014 adds them only where they are missing, and its constraints and index.
	{name: "source_url", typ: "text", add: "text", check: "char_length(source_url) <= 2048"},
	{name: "import_status", typ: "text", add: "text", check: "import_status IN ('importing', 'failed')"},
	{name: "import_error_code", typ: "text", add: "text"},
	{name: "import_error", typ: "text", add: "text"},
}

// adoptIndex is an index of Vitrine's schema that adopt builds concurrently.
type adoptIndex struct {
	table, name, def string
	unique           bool
}

// adoptHelperIndex serves the normalization's reads and the API's appends until the unique
// index replaces it; the finish step drops it.
const adoptHelperIndex = "vitrine_adopt_product_order_idx"

var adoptIndexes = []adoptIndex{
	{table: "products", name: "products_pkey", def: "(id)", unique: true},
	{table: "product_images", name: "product_images_pkey", def: "(id)", unique: true},
	{table: "product_images", name: adoptHelperIndex, def: "(product_id, image_order)"},
	{table: "products", name: "products_supplier_id_idx", def: "(supplier_id)"},
	{table: "product_images", name: "product_images_variant_keys_idx", def: "USING gin (variant_keys)"},
	{table: "product_images", name: "product_images_storage_path_idx", def: "(storage_path)"},
}

// column is a column as the catalog has it.
type column struct {
	typ       string
	notNull   bool
	def       string
	generated string
}

func (db database) tableColumns(ctx context.Context, table string) (map[string]column, error) {
	rows, err := db.pool.Query(ctx, sqlColumns, table)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", table, err)
	}
	out := map[string]column{}
	for rows.Next() {
		var name string
		var c column
		if err := rows.Scan(&name, &c.typ, &c.notNull, &c.def, &c.generated); err != nil {
			return nil, err
		}
		out[name] = c
	}
	return out, rows.Err()
}

// constraint is a constraint as the catalog has it.
type constraint struct {
	typ       string // c, f, p, u
	validated bool
	def       string
}

func (db database) tableConstraints(ctx context.Context, table string) (map[string]constraint, error) {
	rows, err := db.pool.Query(ctx, sqlConstraints, table)
	if err != nil {
		return nil, fmt.Errorf("reading the constraints of %s: %w", table, err)
	}
	out := map[string]constraint{}
	for rows.Next() {
		var name string
		var c constraint
		if err := rows.Scan(&name, &c.typ, &c.validated, &c.def); err != nil {
			return nil, err
		}
		out[name] = c
	}
	return out, rows.Err()
}

// template fills the {{key}} placeholders of a statement with identifiers and expressions
// from adopt's own tables of Vitrine's schema, never with input.
func template(sql string, kv ...string) string {
	return strings.NewReplacer(mapPairs(kv)...).Replace(sql)
}

func mapPairs(kv []string) []string {
	out := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, "{{"+kv[i]+"}}", kv[i+1])
	}
	return out
}

// isLockTimeout reports whether err is PostgreSQL's lock_not_available (lock_timeout fired).
func isLockTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03"
}

// isUniqueViolation reports whether err is a unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// ddl runs one statement outside any transaction (simple protocol: CREATE INDEX CONCURRENTLY
// needs that) with lock_timeout set, retrying up to retries times, with a growing pause, when
// the lock wait times out. A statement that waits for a lock blocks the statements queued
// behind it, so the wait is kept short and retried rather than long.
func ddl(ctx context.Context, pool *pgxpool.Pool, lockTimeout time.Duration, retries int, sql string) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, sqlSetLockTimeout, fmt.Sprint(lockTimeout.Milliseconds())); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), sqlResetLockTimeout)
	for attempt := 0; ; attempt++ {
		_, err = conn.Conn().PgConn().Exec(ctx, sql).ReadAll()
		if err == nil || !isLockTimeout(err) || attempt >= retries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
}

// inReadCommitted runs fn in one READ COMMITTED transaction as the connecting role (the
// tables' owner, which row-level security does not restrict until the finish step forces it).
func inReadCommitted(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
}

// missingColumns returns the ADD COLUMN clauses for the columns of spec that table lacks, and
// an error for a column that a legacy table must have, or that has another type.
func missingColumns(table string, spec []adoptColumn, have map[string]column) ([]string, error) {
	var add []string
	var errs []error
	for _, c := range spec {
		h, ok := have[c.name]
		switch {
		case !ok && c.add == "":
			errs = append(errs, fmt.Errorf("%s has no column %s (%s), which adopt cannot invent", table, c.name, c.typ))
		case !ok:
			add = append(add, fmt.Sprintf("ADD COLUMN %s %s", c.name, c.add))
		case h.typ != c.typ:
			errs = append(errs, fmt.Errorf("%s.%s is %s where Vitrine needs %s", table, c.name, h.typ, c.typ))
		}
	}
	return add, errors.Join(errs...)
}

// checkName is the name PostgreSQL gives a column's CHECK in CREATE TABLE.
func checkName(table, col string) string { return table + "_" + col + "_check" }

// notNullCheckName names the temporary CHECK that lets SET NOT NULL skip its scan.
func notNullCheckName(table, col string) string {
	return "vitrine_adopt_" + table + "_" + col + "_not_null"
}

// replayFunctionNames lists the functions that the covered migrations create.
func replayFunctionNames(stmts []replayStatement) []string {
	var out []string
	for _, s := range stmts {
		if rest, ok := strings.CutPrefix(s.sql, "CREATE OR REPLACE FUNCTION "); ok {
			name, _, _ := strings.Cut(rest, "(")
			out = append(out, strings.TrimSpace(name))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// The statements this file runs, next to the code that runs them.
const (
	// $1 table: name, type, NOT NULL, default, generated expression.
	sqlColumns = `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       coalesce(CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END, ''),
       coalesce(CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END, '')
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped;`

	// $1 table: constraint name, type, validated, definition.
	sqlConstraints = `SELECT conname, contype::text, convalidated, pg_get_constraintdef(oid)
FROM pg_constraint WHERE conrelid = $1::regclass;`

	// $1 milliseconds; for the session, until reset_lock_timeout.
	sqlSetLockTimeout = `SELECT set_config('lock_timeout', $1::text, false);`

	sqlResetLockTimeout = `RESET lock_timeout;`
)
