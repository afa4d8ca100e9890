package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/loadtest"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/storage"
)

// TestLoadtestCommand runs `vitrine loadtest` as an operator would against a running server
// with the deployment's configuration: suppliers' tokens minted with its secret, real
// photographs, then the invariants checked; it prints a line per route and says that every
// invariant held.
func TestLoadtestCommand(t *testing.T) {
	t.Parallel()
	envs := loadtestEnv(t)
	srv := startServe(t, envs)
	envs["VITRINE_DATA_DIR"] = srv.dataDir
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"loadtest", "-url", srv.base, "-clients", "4", "-duration", "4s"}, env(envs), &stdout, &stderr)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	upload := regexp.MustCompile(`POST /v1/products/\{product_id\}/images +(\d+) +[\d.]+ +(\d+) +[\d.]+ms +[\d.]+ms`).FindStringSubmatch(out)
	// Which other routes a client reaches within the run depends on the machine's speed; an
	// upload answered 2xx, the totals and the verdict do not.
	if upload == nil || upload[2] == "0" || !strings.Contains(out, "uploads/s") || !strings.Contains(out, "every invariant held") {
		t.Fatalf("loadtest printed:\n%s", out)
	}
	if stderr.Len() != 0 && strings.Contains(stderr.String(), "█") {
		t.Errorf("a progress bar was drawn on a pipe: %q", stderr.String())
	}
}

// TestLoadtestCheckFindsBrokenInvariants breaks each invariant the check holds a run to after
// a real run (an acknowledged image deleted behind the API, an object a row names removed, an
// old object no row names, a gallery with a hole): the check names each, and it passes before.
func TestLoadtestCheckFindsBrokenInvariants(t *testing.T) {
	t.Parallel()
	envs := loadtestEnv(t)
	srv := startServe(t, envs)
	envs["VITRINE_DATA_DIR"] = srv.dataDir
	ctx, cfg, checker := openTestChecker(t, envs)
	var err error
	// An orphan from before the run is not the run's.
	if err := storage.Put(ctx, checker.app.store, "originals/00/before-the-run.jpg", []byte("old")); err != nil {
		t.Fatal(err)
	}
	if checker.before, err = loadtest.AuditObjects(ctx, checker.app.db, checker.app.store); err != nil {
		t.Fatal(err)
	}
	photos, err := readPhotos("")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := clientTokens(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadtest.Run(ctx, loadtest.Config{URLs: []string{srv.base}, Clients: 2, Duration: 3 * time.Second, Photos: photos[:3], Token: tokens})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := checker.check(ctx, res, time.Minute, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Images == 0 || !rep.JobsEnded || !rep.OutboxDrained {
		t.Fatalf("the run itself broke invariants: %+v", rep)
	}

	// Break them: behind the API's back, as the owner.
	// The victim is a main image, so that its gallery is left with a hole at 0.
	var victim, missing, holeProduct uuid.UUID
	for _, p := range res.Products {
		images, err := checker.app.db.Images(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(images) >= 2 && victim == uuid.Nil && slices.Contains(p.Present, images[0].ID) {
			victim, holeProduct = images[0].ID, p.ID
		} else if len(p.Present) >= 1 && missing == uuid.Nil {
			missing = p.Present[0]
		}
	}
	if victim == uuid.Nil || missing == uuid.Nil {
		t.Fatalf("the run left too few images: %+v", res.Products)
	}
	owner, err := pgxpool.New(ctx, envs["VITRINE_MIGRATE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if tag, err := owner.Exec(ctx, `DELETE FROM product_images WHERE id = $1`, victim); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("deleting image %s: %v", victim, err)
	}
	var key string
	if err := owner.QueryRow(ctx, `SELECT storage_path FROM product_images WHERE id = $1`, missing).Scan(&key); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `UPDATE product_images SET storage_path = 'originals/ff/gone.jpg' WHERE id = $1`, missing); err != nil {
		t.Fatal(err)
	}
	old := "variants/00/left-behind.webp"
	if err := storage.Put(ctx, checker.app.store, old, []byte("orphan")); err != nil {
		t.Fatal(err)
	}
	hour := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(srv.dataDir, "objects", filepath.FromSlash(old)), hour, hour); err != nil {
		t.Fatal(err)
	}

	// The outbox is left with what the deletes put there (plain SQL enqueues no drain).
	rep, err = checker.check(ctx, res, time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(rep.Violations, "\n")
	for _, want := range []string{
		"image " + victim.String() + ", acknowledged, is missing",
		"product " + holeProduct.String() + ": image 0 of the gallery has position 1",
		"object originals/ff/gone.jpg is named by a row but not in the store",
		"object " + old + ", written ",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the check did not report %q; it reported:\n%s", want, all)
		}
	}
	if strings.Contains(all, "before-the-run") {
		t.Errorf("the check blamed the run for an orphan from before it:\n%s", all)
	}
}

// loadtestEnv is the environment of a server that a load test runs against, on a fresh
// database: a JWT secret to mint suppliers' tokens with, no rate limits, one worker.
func loadtestEnv(t *testing.T) map[string]string {
	owner := pgtest.NewDB(t)
	return map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner,
		"VITRINE_JWT_SECRET": "load-test-secret-of-at-least-32-bytes", "VITRINE_WORKERS": "1",
		"VITRINE_UPLOADS_PER_MINUTE": "0", "VITRINE_WRITES_PER_MINUTE": "0", "VITRINE_LOG_LEVEL": "warn",
		"VITRINE_ADDR": freeAddr(t),
	}
}

// openTestChecker opens the load test's checker on the database and store that envs configure,
// as the service role, with that configuration; it is closed when t ends.
func openTestChecker(t *testing.T, envs map[string]string) (context.Context, config, *loadChecker) {
	t.Helper()
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	cfg, err := loadConfig(newFlagSet(), nil, env(envs))
	if err != nil {
		t.Fatal(err)
	}
	checker, err := openLoadChecker(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(checker.close)
	return ctx, cfg, checker
}
