package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/upload"
)

// TestKilledWorkerJobIsRescued kills a `vitrine work` process with SIGKILL while it works a
// thumbnail job; another worker rescues the job once it has run past the rescue threshold,
// and completes it. The rescue threshold is long (10 minutes, so an attempt's own time
// limit, 8 minutes, never decides the outcome however slow the machine is): instead of
// waiting that long, the orphaned attempt is dated an hour back, as if its worker had died
// an hour ago, and the new worker's rescuer, which runs as soon as it leads, finds it.
func TestKilledWorkerJobIsRescued(t *testing.T) {
	dbURL := pgtest.NewDB(t)
	dataDir := t.TempDir()
	envs := map[string]string{
		"DATABASE_URL": pgtest.AppURL(dbURL), "VITRINE_MIGRATE_DATABASE_URL": dbURL, "VITRINE_DATA_DIR": dataDir, "VITRINE_WORKERS": "1",
		"VITRINE_JOB_RESCUE_AFTER": "10m", "VITRINE_JOB_RETRY_BASE": "100ms",
		"VITRINE_ADDR": "127.0.0.1:0", "VITRINE_LOG_LEVEL": "warn",
	}
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	cfg, err := loadConfig(newFlagSet(), nil, env(envs))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Upload a 14 MP photograph with an insert-only app: its job waits for a worker.
	a, err := newApp(ctx, cfg, log, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p, err := a.db.CreateProduct(ctx, gallery.Product{SupplierID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	up := &upload.Service{Store: a.store, Gallery: a.db, MaxBytes: 64 << 20, MaxPixels: 100_000_000, ObjectURL: a.objectURL}
	f, err := os.Open(testphotos.Large(t))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := up.Receive(ctx, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	im, err := up.Add(ctx, p.ID, rec, "")
	if err != nil {
		t.Fatal(err)
	}

	// A worker process picks the job up; kill it while the job runs.
	cmd := exec.Command(os.Args[0], "work")
	cmd.Env = append(os.Environ(), "VITRINE_TEST_AS_MAIN=1")
	for k, v := range envs {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	state := waitJobState(t, a, im.ID, 60*time.Second, "running", "completed")
	if state != "running" {
		t.Fatalf("the job finished before the worker could be killed: make the input larger\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if got, _ := a.db.Image(ctx, im.ID); got.Status != gallery.StatusProcessing {
		t.Fatalf("after the kill the image is %s, want processing (its job orphaned)", got.Status)
	}

	// The orphan has been running "for an hour", past the threshold.
	owner, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	tag, err := owner.Exec(ctx, `UPDATE river_job SET attempted_at = now() - interval '1 hour'
		WHERE kind = 'thumbnail' AND state = 'running' AND args @> jsonb_build_object('image_id', $1::uuid)`, im.ID)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("dating the orphaned attempt back: %v (%d rows)", err, tag.RowsAffected())
	}

	// Another worker, in this process, rescues and completes it.
	b, err := newApp(ctx, cfg, log, true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	stop, err := b.startWorkers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if state := waitJobState(t, a, im.ID, 5*time.Minute, "completed"); state != "completed" {
		t.Fatalf("job state %s", state)
	}
	got, err := a.db.Image(ctx, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := a.db.ThumbnailJobs(ctx, "", 10)
	if got.Status != gallery.StatusReady || len(jobs) != 1 || jobs[0].Attempts != 2 {
		t.Fatalf("after the rescue: status %s, jobs %+v (want ready, one job, attempt 2)", got.Status, jobs)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "objects")); err != nil {
		t.Fatal(err)
	}
}

// waitJobState polls the image's newest thumbnail job until it is in one of states.
func waitJobState(t *testing.T, a *app, imageID uuid.UUID, timeout time.Duration, states ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		jobs, err := a.db.ThumbnailJobs(gallery.WithCaller(context.Background(), gallery.Service()), "", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.ImageID == imageID {
				for _, s := range states {
					if j.State == s {
						return s
					}
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the job of image %s never reached %s", imageID, strings.Join(states, " or "))
	return ""
}
