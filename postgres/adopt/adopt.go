// Package adopt is `vitrine migrate adopt`: it brings a legacy products/product_images
// database to Vitrine's schema while the shop keeps using it, through the exported surface
// of package postgres (migrations, the maintenance flag, the pool) and statements of its own.
package adopt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrine-dev/vitrine/postgres"
)

// database is the database adopt works on: Vitrine's adapter for what it exports (migrations,
// the maintenance flag), its pool for adopt's own statements.
type database struct {
	*postgres.DB
	pool *pgxpool.Pool
}

// Options configures Run and MakePlan. The zero value adopts with the defaults.
type Options struct {
	// OrderBy is the stable criterion that numbers each gallery: a comma-separated list of
	// columns among created_at, image_url, storage_path, image_order and id, each optionally
	// followed by asc or desc. Default "created_at, image_url"; the image id always breaks
	// the last ties.
	OrderBy string
	// BatchSize is how many products one normalization transaction takes (and locks).
	// Default 200.
	BatchSize int
	// Overrides fix the order of the images they name; for the products they name they win
	// over OrderBy (images they do not name follow, by OrderBy).
	Overrides []Override
	// ObjectTimes, when set, lists the object store: fn is called with each object's key and
	// Last-Modified time. The images whose storage_path is such a key get that time as their
	// created_at.
	ObjectTimes func(ctx context.Context, fn func(key string, modified time.Time) error) error
	// PathPattern is a PostgreSQL regular expression whose first parenthesised group finds a
	// time in storage_path (or image_url when there is no path), read with PathFormat: "unix",
	// "unix_ms", or a to_timestamp format such as "YYYYMMDDHH24MISS". Images whose created_at
	// the store does not give get that time. Empty: no such proxy.
	PathPattern, PathFormat string
	// OrphanSupplier owns the products adopt creates for images whose product does not exist.
	// Default the nil UUID, which only the service role can see.
	OrphanSupplier uuid.UUID
	// DefaultSupplier, when set, becomes the supplier of products that have none; without it
	// such products stop the adoption.
	DefaultSupplier *uuid.UUID
	// LockTimeout bounds each wait for a table lock (then the statement is retried, up to
	// Retries times). Default 2s and 5.
	LockTimeout time.Duration
	Retries     int
	// PauseTTL is how long the maintenance flag holds at most if adopt dies while it is set.
	// Default 1 minute.
	PauseTTL time.Duration
	// Now gives the time of images that neither the store nor the path dates; it is read
	// once, when normalization first starts, and kept for reruns. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger

	// AfterBatch, for tests, runs inside each normalization transaction before it commits;
	// an error aborts the run as a crash would.
	AfterBatch func(batch int) error
	// BeforeStep, for tests, runs before each step this run carries out.
	BeforeStep func(ctx context.Context, step string) error
	// DuringPause, for tests and benchmarks, runs while image writes are paused, before the
	// unique index is built.
	DuringPause func(ctx context.Context) error
}

// Override puts one image at a position of its product's gallery.
type Override struct {
	ProductID, ImageID uuid.UUID
	Order              int
}

// Result is what Run did.
type Result struct {
	// Steps are the steps this run carried out (a rerun skips the finished ones), in order.
	Steps []Step
	// WritesPaused is the longest time image writes were refused in this run.
	WritesPaused time.Duration
	Total        time.Duration
}

// Step is one step of the adoption and how long it took.
type Step struct {
	Name     string
	Seconds  float64
	Detail   map[string]any
	Finished bool
}

// DuplicateOrdersError stops the unique-index step: images that share a (product_id,
// image_order) pair, which the index cannot accept.
type DuplicateOrdersError struct {
	Pairs []DuplicateOrder
}

// DuplicateOrder is one (product_id, image_order) pair held by more than one image.
type DuplicateOrder struct {
	ProductID uuid.UUID
	Order     int
	ImageIDs  []uuid.UUID
}

func (e *DuplicateOrdersError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d (product_id, image_order) pairs are held by more than one image; the unique index cannot be built; renumber or delete the extra rows, then rerun adopt:", len(e.Pairs))
	for _, p := range e.Pairs {
		fmt.Fprintf(&b, "\n  product %s order %d: %v", p.ProductID, p.Order, p.ImageIDs)
	}
	return b.String()
}

// adoptSteps are the steps of the adoption, in order.
var adoptSteps = []string{"schema", "fill", "indexes", "normalize", "constraints", "unique_index", "finish"}

var orderTermRe = regexp.MustCompile(`^(created_at|image_url|storage_path|image_order|id)(?:\s+(asc|desc))?$`)

// orderByClause validates OrderBy and returns it for the normalization's window.
func orderByClause(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		s = "created_at, image_url"
	}
	var terms []string
	for t := range strings.SplitSeq(s, ",") {
		m := orderTermRe.FindStringSubmatch(strings.ToLower(strings.TrimSpace(t)))
		if m == nil {
			return "", fmt.Errorf("order-by: %q is not one of created_at, image_url, storage_path, image_order, id (optionally asc or desc)", strings.TrimSpace(t))
		}
		term := "f." + m[1]
		if m[2] == "desc" {
			term += " DESC"
		}
		terms = append(terms, term+" NULLS LAST")
	}
	return strings.Join(terms, ", "), nil
}

func (o *Options) withDefaults() error {
	if o.BatchSize <= 0 {
		o.BatchSize = 200
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.Retries <= 0 {
		o.Retries = 5
	}
	if o.PauseTTL <= 0 {
		o.PauseTTL = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if (o.PathPattern == "") != (o.PathFormat == "") {
		return errors.New("the path pattern and the path format go together")
	}
	if _, err := orderByClause(o.OrderBy); err != nil {
		return err
	}
	for _, ov := range o.Overrides {
		if ov.Order < 0 {
			return fmt.Errorf("override of image %s: order %d is negative", ov.ImageID, ov.Order)
		}
	}
	return nil
}

// adopter is one run of Run.
type adopter struct {
	db       database
	fallback time.Time // the created_at of images nothing else dates: the first run's start
	opts     Options
	log      *slog.Logger
	result   Result
}

// Run brings a legacy products/product_images database (the legacy design's tables, with or
// without data problems) to Vitrine's schema while the shop keeps reading and writing: it adds
// what is missing, back-fills created_at and storage_path, renumbers every gallery 0..n-1 by
// a stable criterion under the API's per-product lock, adds the constraints without long
// locks, builds the unique index on (product_id, image_order) concurrently while image writes
// are paused, then records migrations 1 to 3 as applied and applies the later ones with goose.
// Each step is recorded in vitrine_adopt_state when it finishes (the normalization also after
// every batch), so that a rerun after a failure or a crash skips what is done and finishes the
// job; a rerun after a complete adoption does nothing. The connection must be the tables'
// owner. A *DuplicateOrdersError means the unique index step found duplicates and stopped.
func Run(ctx context.Context, pg *postgres.DB, opts Options) (Result, error) {
	db := database{DB: pg, pool: pg.Pool()}
	start := time.Now()
	if err := opts.withDefaults(); err != nil {
		return Result{}, err
	}
	a := &adopter{db: db, opts: opts, log: opts.Logger}
	res, err := a.adopt(ctx)
	res.Total = time.Since(start)
	return res, err
}

func (a *adopter) adopt(ctx context.Context) (Result, error) {
	db := a.db
	if _, err := db.pool.Exec(ctx, sqlStateCreate); err != nil {
		return a.result, fmt.Errorf("creating adopt's state tables: %w", err)
	}
	state, err := a.readState(ctx)
	if err != nil {
		return a.result, err
	}
	if !state["schema"].Finished {
		if err := a.preflight(ctx); err != nil {
			return a.result, err
		}
	} else if !state["unique_index"].Finished {
		// Only adopt sets the flag: one left set is a crashed run's, and would refuse this
		// run's own normalization.
		if err := db.ResumeWrites(ctx); err != nil {
			return a.result, err
		}
	}
	steps := map[string]func(context.Context, map[string]any) (map[string]any, error){
		"schema":       a.schema,
		"fill":         a.fill,
		"indexes":      a.indexes,
		"normalize":    a.normalize,
		"constraints":  a.constraints,
		"unique_index": a.uniqueIndex,
		"finish":       a.finish,
	}
	if err := a.loadFallback(ctx); err != nil {
		return a.result, err
	}
	for _, name := range adoptSteps {
		if state[name].Finished {
			a.log.Info("adopt: step already done", "step", name)
			continue
		}
		if a.opts.BeforeStep != nil {
			if err := a.opts.BeforeStep(ctx, name); err != nil {
				return a.result, err
			}
		}
		if err := a.run(ctx, name, steps[name]); err != nil {
			return a.result, err
		}
	}
	return a.result, nil
}

// loadFallback reads the fallback time the first run chose, or chooses it.
func (a *adopter) loadFallback(ctx context.Context) error {
	now := a.opts.Now().UTC().Truncate(time.Microsecond)
	js, err := json.Marshal(map[string]any{"fallback_time": now.Format(time.RFC3339Nano)})
	if err != nil {
		return err
	}
	var raw []byte
	if err := a.db.pool.QueryRow(ctx, sqlStateStart, "started", js).Scan(&raw); err != nil {
		return fmt.Errorf("recording the start: %w", err)
	}
	var d struct {
		FallbackTime time.Time `json:"fallback_time"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("reading the recorded fallback time: %w", err)
	}
	a.fallback = d.FallbackTime
	return nil
}

// run carries out one step, timing and recording it.
func (a *adopter) run(ctx context.Context, name string, fn func(context.Context, map[string]any) (map[string]any, error)) error {
	var raw []byte
	if err := a.db.pool.QueryRow(ctx, sqlStateStart, name, []byte("{}")).Scan(&raw); err != nil {
		return fmt.Errorf("recording the start of step %s: %w", name, err)
	}
	detail := map[string]any{}
	if err := json.Unmarshal(raw, &detail); err != nil {
		return err
	}
	a.log.Info("adopt: step starts", "step", name)
	t0 := time.Now()
	out, err := fn(ctx, detail)
	secs := time.Since(t0).Seconds()
	if err != nil {
		a.log.Error("adopt: step failed", "step", name, "seconds", secs, "error", err)
		a.result.Steps = append(a.result.Steps, Step{Name: name, Seconds: secs, Detail: out})
		return fmt.Errorf("adopt step %s: %w", name, err)
	}
	if out == nil {
		out = map[string]any{}
	}
	js, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if _, err := a.db.pool.Exec(ctx, sqlStateFinish, name, secs, js); err != nil {
		return fmt.Errorf("recording the end of step %s: %w", name, err)
	}
	args := []any{"step", name, "seconds", fmt.Sprintf("%.3f", secs)}
	for k, v := range out {
		args = append(args, k, v)
	}
	a.log.Info("adopt: step done", args...)
	a.result.Steps = append(a.result.Steps, Step{Name: name, Seconds: secs, Detail: out, Finished: true})
	return nil
}

// saveDetail merges kv into the step's recorded detail (a cursor, a chosen time).
func saveDetail(ctx context.Context, tx pgx.Tx, step string, kv map[string]any) error {
	js, err := json.Marshal(kv)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, sqlStateDetail, step, js)
	return err
}

func (a *adopter) readState(ctx context.Context) (map[string]Step, error) {
	return readAdoptState(ctx, a.db)
}

func readAdoptState(ctx context.Context, db database) (map[string]Step, error) {
	out := map[string]Step{}
	var exists bool
	if err := db.pool.QueryRow(ctx, sqlStateExists).Scan(&exists); err != nil || !exists {
		return out, err
	}
	rows, err := db.pool.Query(ctx, sqlStateRead)
	if err != nil {
		return nil, fmt.Errorf("reading adopt's state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Step
		var raw []byte
		if err := rows.Scan(&s.Name, &s.Finished, &s.Seconds, &raw); err != nil {
			return nil, err
		}
		_ = json.Unmarshal(raw, &s.Detail)
		out[s.Name] = s
	}
	return out, rows.Err()
}

// preflight refuses to start on what adopt cannot fix by itself (the plan's blocking
// problems), before it changes anything.
func (a *adopter) preflight(ctx context.Context) error {
	plan, err := MakePlan(ctx, a.db.DB, a.opts)
	if err != nil {
		return err
	}
	if err := plan.Blocking(); err != nil {
		return fmt.Errorf("adopt cannot start; fix these first (see -plan):\n%w", err)
	}
	return nil
}

// The statements this file runs, next to the code that runs them.
const (
	sqlStateCreate = `CREATE TABLE IF NOT EXISTS vitrine_adopt_state (
    step        text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    seconds     double precision,
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS vitrine_adopt_created_at (
    image_id uuid PRIMARY KEY,
    source   text NOT NULL CHECK (source IN ('store', 'path', 'fallback'))
);
CREATE UNLOGGED TABLE IF NOT EXISTS vitrine_adopt_object_times (
    key      text PRIMARY KEY,
    modified timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS vitrine_adopt_overrides (
    image_id    uuid PRIMARY KEY,
    product_id  uuid NOT NULL,
    image_order integer NOT NULL
);`

	sqlStateExists = `SELECT to_regclass('vitrine_adopt_state') IS NOT NULL;`

	sqlStateRead = `SELECT step, finished_at IS NOT NULL, coalesce(seconds, 0), detail FROM vitrine_adopt_state;`

	// $1 step, $2 the detail to start with; a started step keeps its detail (its cursor).
	sqlStateStart = `INSERT INTO vitrine_adopt_state (step, detail) VALUES ($1, $2)
ON CONFLICT (step) DO UPDATE SET detail = excluded.detail || vitrine_adopt_state.detail
RETURNING detail;`

	// $1 step, $2 keys to merge into its detail.
	sqlStateDetail = `UPDATE vitrine_adopt_state SET detail = detail || $2 WHERE step = $1;`

	sqlStateFinish = `UPDATE vitrine_adopt_state SET finished_at = clock_timestamp(), seconds = $2, detail = detail || $3
WHERE step = $1;`
)
