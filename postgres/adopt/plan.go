package adopt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vitrine-dev/vitrine/postgres"
)

// Plan is what `vitrine migrate adopt --plan` reports: what the schema lacks, what is
// wrong with the data, and which steps adopt would run. Making it changes nothing.
type Plan struct {
	Products, Images int64
	// Lacks lists the parts of Vitrine's schema that the database does not have.
	Lacks []string
	// Problems are the data's problems, each with its count, samples and what adopt does.
	Problems []Problem
	// Steps are adopt's steps, with what an earlier run recorded.
	Steps []Step
	// Adopted is true when a complete adoption is recorded.
	Adopted bool

	blocking []error // problems of the schema adopt cannot fix
}

// Problem is one kind of problem in the legacy data.
type Problem struct {
	Name     string
	Count    int64
	Samples  []string
	Fix      string // what adopt does about it
	Blocking bool   // adopt refuses to start while Count > 0
}

// problemQueries are the data checks of the plan: the query, the columns it needs, what adopt
// does about it and whether it blocks.
var problemQueries = []struct {
	query, name, fix string
	needs            []string // product_images columns the query reads
	blocking         bool
}{
	{sqlProblemDuplicateOrders, "duplicate (product_id, image_order) pairs", "renumbered by the order criterion", nil, false},
	{sqlProblemBadOrders, "images with a NULL or negative order", "renumbered by the order criterion", nil, false},
	{sqlProblemMissingProducts, "products that images name but that do not exist", "created unpublished, owned by the orphan supplier", nil, false},
	{sqlProblemNoMain, "products without an image at order 0", "renumbered: the first image by the order criterion becomes the main one", nil, false},
	{sqlProblemNullImageId, "images without an id", "given a new random id", nil, false},
	{sqlProblemNullStoragePath, "images without a storage path", "storage_path set to image_url, as insert_image_with_order does", []string{"storage_path"}, false},
	{sqlProblemNullCreatedAt, "images without created_at", "back-filled: the store's Last-Modified, else the path's time, else the adoption's start", []string{"created_at"}, false},
	{sqlProblemNullProduct, "images without a product", "none: give them a product or delete them", nil, true},
	{sqlProblemNullUrl, "images without an image_url", "none: give them a URL or delete them", nil, true},
	{sqlProblemDuplicateImageIds, "image ids held by more than one row", "none: the primary key needs distinct ids", nil, true},
	{sqlProblemDuplicateProductIds, "product ids held by more than one row", "none: the primary key needs distinct ids", nil, true},
	{sqlProblemNullProductIds, "products without an id", "none: give them an id or delete them", nil, true},
}

// MakePlan inspects the database and reports what Run would do, changing nothing.
func MakePlan(ctx context.Context, pg *postgres.DB, opts Options) (Plan, error) {
	db := database{DB: pg, pool: pg.Pool()}
	var p Plan
	if err := opts.withDefaults(); err != nil {
		return p, err
	}
	for _, t := range []string{"products", "product_images"} {
		var ok bool
		if err := db.pool.QueryRow(ctx, sqlTableExists, t).Scan(&ok); err != nil {
			return p, err
		}
		if !ok {
			return p, fmt.Errorf("there is no table %s to adopt", t)
		}
	}
	state, err := readAdoptState(ctx, db)
	if err != nil {
		return p, err
	}
	p.Adopted = state["finish"].Finished
	for _, name := range adoptSteps {
		s := state[name]
		s.Name = name
		p.Steps = append(p.Steps, s)
	}
	var gooseTable bool
	if err := db.pool.QueryRow(ctx, sqlGooseTableExists).Scan(&gooseTable); err != nil {
		return p, err
	}
	if gooseTable && !state["schema"].Finished {
		var applied []int64
		if err := db.pool.QueryRow(ctx, sqlGooseApplied).Scan(&applied); err != nil {
			return p, err
		}
		if len(applied) > 0 {
			p.blocking = append(p.blocking, fmt.Errorf("goose already records migrations %v: this database is Vitrine's already; use `vitrine migrate up`", applied))
		}
	}
	if err := db.pool.QueryRow(ctx, sqlCountProducts).Scan(&p.Products); err != nil {
		return p, err
	}
	if err := db.pool.QueryRow(ctx, sqlCountImages).Scan(&p.Images); err != nil {
		return p, err
	}
	imageCols, err := db.planSchema(ctx, &p, opts)
	if err != nil {
		return p, err
	}
	for _, q := range problemQueries {
		pr := Problem{Name: q.name, Fix: q.fix, Blocking: q.blocking}
		missing := false
		for _, c := range q.needs {
			if _, ok := imageCols[c]; !ok {
				missing = true
			}
		}
		if missing {
			pr.Count = p.Images // the column is missing: every row needs the back-fill
		} else if pr.Samples, pr.Count, err = db.samples(ctx, q.name, q.query); err != nil {
			return p, err
		}
		p.Problems = append(p.Problems, pr)
	}
	productCols, err := db.tableColumns(ctx, "products")
	if err != nil {
		return p, err
	}
	pr := Problem{Name: "products without a supplier", Fix: "given the default supplier (-default-supplier)", Blocking: opts.DefaultSupplier == nil}
	if _, ok := productCols["supplier_id"]; !ok {
		pr.Count = p.Products
	} else if pr.Samples, pr.Count, err = db.samples(ctx, "products without a supplier", sqlProblemNullSupplier); err != nil {
		return p, err
	}
	if pr.Blocking {
		pr.Fix = "none without -default-supplier"
	}
	p.Problems = append(p.Problems, pr)
	return p, nil
}

// planSchema fills p.Lacks (and p.blocking for columns adopt cannot add) and returns the
// columns product_images has.
func (db database) planSchema(ctx context.Context, p *Plan, opts Options) (map[string]column, error) {
	var imageCols map[string]column
	for _, t := range []struct {
		name string
		spec []adoptColumn
	}{{"products", adoptProducts}, {"product_images", adoptImages}} {
		cols, err := db.tableColumns(ctx, t.name)
		if err != nil {
			return nil, err
		}
		if t.name == "product_images" {
			imageCols = cols
		}
		if _, err := missingColumns(t.name, t.spec, cols); err != nil {
			p.blocking = append(p.blocking, err)
		}
		cons, err := db.tableConstraints(ctx, t.name)
		if err != nil {
			return nil, err
		}
		for _, c := range t.spec {
			h, ok := cols[c.name]
			switch {
			case !ok:
				p.Lacks = append(p.Lacks, fmt.Sprintf("column %s.%s %s", t.name, c.name, c.typ))
			case c.notNull && !h.notNull:
				p.Lacks = append(p.Lacks, fmt.Sprintf("NOT NULL on %s.%s", t.name, c.name))
			}
			if ok && c.def != "" && h.def != c.def {
				p.Lacks = append(p.Lacks, fmt.Sprintf("default %s on %s.%s", c.def, t.name, c.name))
			}
			if c.check != "" {
				if _, ok := cons[checkName(t.name, c.name)]; !ok {
					p.Lacks = append(p.Lacks, fmt.Sprintf("CHECK (%s) on %s", c.check, t.name))
				}
			}
		}
		if !hasPrimaryKey(cons) {
			p.Lacks = append(p.Lacks, "primary key of "+t.name)
		}
		if t.name == "product_images" {
			if _, ok := cons["product_images_product_id_fkey"]; !ok {
				p.Lacks = append(p.Lacks, "foreign key product_images.product_id -> products ON DELETE CASCADE")
			}
			if _, ok := cons[orderIndex.name]; !ok {
				p.Lacks = append(p.Lacks, "unique constraint (product_id, image_order) DEFERRABLE, on an index built concurrently")
			}
		}
		var enabled, forced bool
		if err := db.pool.QueryRow(ctx, sqlRls, t.name).Scan(&enabled, &forced); err != nil {
			return nil, err
		}
		if !enabled || !forced {
			p.Lacks = append(p.Lacks, "row-level security (enabled and forced) on "+t.name)
		}
		var triggers []string
		if err := db.pool.QueryRow(ctx, sqlTriggers, t.name).Scan(&triggers); err != nil {
			return nil, err
		}
		if !slices.Contains(triggers, t.name+"_touch_updated_at") {
			p.Lacks = append(p.Lacks, "trigger "+t.name+"_touch_updated_at")
		}
	}
	for _, ix := range adoptIndexes[3:] {
		var exists, valid bool
		if err := db.pool.QueryRow(ctx, sqlIndexState, ix.name).Scan(&exists, &valid); err != nil {
			return nil, err
		}
		switch {
		case !exists:
			p.Lacks = append(p.Lacks, "index "+ix.name)
		case !valid:
			p.Lacks = append(p.Lacks, "index "+ix.name+" (an INVALID one exists: it will be dropped and rebuilt)")
		}
	}
	var exists, valid bool
	if err := db.pool.QueryRow(ctx, sqlIndexState, orderIndex.name).Scan(&exists, &valid); err != nil {
		return nil, err
	}
	if exists && !valid {
		p.Lacks = append(p.Lacks, "index "+orderIndex.name+" (an INVALID one exists: it will be dropped and rebuilt)")
	}
	stmts, err := coveredStatements()
	if err != nil {
		return nil, err
	}
	var have []string
	if err := db.pool.QueryRow(ctx, sqlFunctions).Scan(&have); err != nil {
		return nil, err
	}
	for _, f := range replayFunctionNames(stmts) {
		if !slices.Contains(have, f) {
			p.Lacks = append(p.Lacks, "function "+f)
		}
	}
	for _, s := range stmts {
		if s.kind == replayPolicy {
			var ok bool
			if err := db.pool.QueryRow(ctx, sqlPolicyExists, s.policy[0], s.policy[1]).Scan(&ok); err != nil {
				return nil, err
			}
			if !ok {
				p.Lacks = append(p.Lacks, "policy "+s.policy[1]+" on "+s.policy[0])
			}
		}
	}
	if !slices.Contains(have, "vitrine_refuse_during_maintenance") {
		p.Lacks = append(p.Lacks, "the maintenance flag (migration 00005)")
	}
	return imageCols, nil
}

// Blocking returns the problems that keep adopt from starting, joined, or nil.
func (p Plan) Blocking() error {
	errs := slices.Clone(p.blocking)
	for _, pr := range p.Problems {
		if pr.Blocking && pr.Count > 0 {
			errs = append(errs, fmt.Errorf("%s: %d", pr.Name, pr.Count))
		}
	}
	return errors.Join(errs...)
}

// stepsDescription says what each step does, for the plan.
var stepsDescription = map[string]string{
	"schema":       "River's tables; the functions of 00001-00003; missing columns (no table rewrite: new columns are NULL or have constant defaults); defaults, triggers, view, roles, grants, policies, RLS enabled; the maintenance flag (00005); the thumbnail-record rule (00008)",
	"indexes":      "primary-key indexes a table lacks, a helper index on (product_id, image_order), the indexes of 00001/00002: all CREATE INDEX CONCURRENTLY",
	"normalize":    "per batch of products, under the API's per-product lock: storage_path and created_at filled, orders renumbered 0..n-1 (overrides, then the order criterion); then a sweep of galleries broken meanwhile",
	"constraints":  "missing products created; NOT NULL via validated CHECKs; CHECKs NOT VALID then VALIDATE; primary keys on their indexes; foreign key NOT VALID then VALIDATE",
	"unique_index": "duplicates checked; image writes paused (503); CREATE UNIQUE INDEX CONCURRENTLY; ADD CONSTRAINT ... UNIQUE USING INDEX ... DEFERRABLE; writes resumed",
	"finish":       "helper index dropped; RLS forced; goose versions 1-3 recorded as applied; later migrations applied",
}

// WriteTo prints the plan for people.
func (p Plan) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "products: %d, images: %d\n", p.Products, p.Images)
	if p.Adopted {
		b.WriteString("\nthis database has been adopted already: nothing to do\n")
	}
	fmt.Fprintf(&b, "\nthe schema lacks (%d):\n", len(p.Lacks))
	for _, l := range p.Lacks {
		fmt.Fprintf(&b, "  - %s\n", l)
	}
	b.WriteString("\nthe data:\n")
	for _, pr := range p.Problems {
		mark := "ok "
		if pr.Count > 0 {
			mark = "fix"
			if pr.Blocking {
				mark = "STOP"
			}
		}
		fmt.Fprintf(&b, "  [%-4s] %s: %d\n", mark, pr.Name, pr.Count)
		if pr.Count > 0 {
			fmt.Fprintf(&b, "         adopt: %s\n", pr.Fix)
			for _, s := range pr.Samples {
				fmt.Fprintf(&b, "         e.g. %s\n", s)
			}
		}
	}
	for _, e := range p.blocking {
		fmt.Fprintf(&b, "  [STOP] %v\n", e)
	}
	b.WriteString("\nsteps:\n")
	for _, s := range p.Steps {
		state := "to run"
		switch {
		case s.Finished:
			state = fmt.Sprintf("done (%.1fs)", s.Seconds)
		case s.Detail != nil:
			state = "started, will resume"
		}
		fmt.Fprintf(&b, "  %-13s %-22s %s\n", s.Name, state, stepsDescription[s.Name])
	}
	if err := p.Blocking(); err != nil {
		b.WriteString("\nadopt would refuse to start until the problems marked STOP are fixed\n")
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// The statements this file runs, next to the code that runs them.
const (
	sqlTableExists = `SELECT to_regclass($1) IS NOT NULL;`

	// $1 table: row-level security enabled, forced.
	sqlRls = `SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass;`

	sqlFunctions = `SELECT coalesce(array_agg(DISTINCT proname::text), '{}') FROM pg_proc
WHERE pronamespace = current_schema()::regnamespace;`

	// $1 table.
	sqlTriggers = `SELECT coalesce(array_agg(tgname::text), '{}') FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal;`

	sqlCountImages = `SELECT count(*) FROM product_images;`

	sqlCountProducts = `SELECT count(*) FROM products;`

	// Pairs (product_id, image_order) held by more than one image: how many, and a sample.
	sqlProblemDuplicateOrders = `SELECT product_id::text || ' order ' || image_order || ': ' || count(*) || ' images (' ||
       array_to_string((array_agg(id::text ORDER BY id))[1:3], ', ') || ')', count(*) OVER ()
FROM product_images WHERE image_order IS NOT NULL
GROUP BY product_id, image_order HAVING count(*) > 1
ORDER BY product_id, image_order LIMIT 5;`

	// Images whose order is NULL or negative.
	sqlProblemBadOrders = `SELECT id::text || ' (product ' || coalesce(product_id::text, 'NULL') || ', order ' || coalesce(image_order::text, 'NULL') || ')',
       count(*) OVER ()
FROM product_images WHERE image_order IS NULL OR image_order < 0
ORDER BY id LIMIT 5;`

	// Products that images name but that do not exist (adopt creates them, unpublished).
	sqlProblemMissingProducts = `SELECT i.product_id::text || ' (' || count(*) || ' images)', count(*) OVER ()
FROM product_images i
WHERE i.product_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM products p WHERE p.id = i.product_id)
GROUP BY i.product_id ORDER BY i.product_id LIMIT 5;`

	// Products with images of which none has order 0.
	sqlProblemNoMain = `SELECT product_id::text || ' (lowest order ' || coalesce(min(image_order)::text, 'NULL') || ')', count(*) OVER ()
FROM product_images WHERE product_id IS NOT NULL
GROUP BY product_id HAVING NOT bool_or(image_order = 0) OR bool_and(image_order IS NULL)
ORDER BY product_id LIMIT 5;`

	sqlProblemNullProduct = `SELECT coalesce(id::text, 'NULL') || ' (' || coalesce(image_url, 'NULL') || ')', count(*) OVER ()
FROM product_images WHERE product_id IS NULL ORDER BY id LIMIT 5;`

	sqlProblemNullUrl = `SELECT coalesce(id::text, 'NULL'), count(*) OVER ()
FROM product_images WHERE image_url IS NULL ORDER BY id LIMIT 5;`

	sqlProblemNullImageId = `SELECT coalesce(image_url, 'NULL'), count(*) OVER ()
FROM product_images WHERE id IS NULL ORDER BY image_url LIMIT 5;`

	sqlProblemDuplicateImageIds = `SELECT id::text || ': ' || count(*) || ' rows', count(*) OVER ()
FROM product_images WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5;`

	sqlProblemDuplicateProductIds = `SELECT id::text || ': ' || count(*) || ' rows', count(*) OVER ()
FROM products WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5;`

	sqlProblemNullProductIds = `SELECT 'a product without id', count(*) OVER () FROM products WHERE id IS NULL LIMIT 5;`

	sqlProblemNullSupplier = `SELECT id::text, count(*) OVER () FROM products WHERE supplier_id IS NULL ORDER BY id LIMIT 5;`

	// Images without a storage path: adopt records their image_url as the path, as
	// insert_image_with_order does.
	sqlProblemNullStoragePath = `SELECT id::text || ' -> ' || image_url, count(*) OVER ()
FROM product_images WHERE storage_path IS NULL ORDER BY id LIMIT 5;`

	sqlProblemNullCreatedAt = `SELECT id::text, count(*) OVER () FROM product_images WHERE created_at IS NULL ORDER BY id LIMIT 5;`

	// The versions goose has recorded, when its table exists.
	sqlGooseApplied = `SELECT coalesce(array_agg(version_id ORDER BY version_id), '{}')
FROM goose_db_version WHERE is_applied AND version_id > 0;`

	sqlGooseTableExists = `SELECT to_regclass('goose_db_version') IS NOT NULL;`
)
