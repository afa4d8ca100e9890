package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/upload"
)

// TestRegenerateAndRetryCommands drives `vitrine thumbnails regenerate` after the presets
// changed, and `vitrine jobs list` and `vitrine jobs retry` on a failed job.
func TestRegenerateAndRetryCommands(t *testing.T) {
	owner := pgtest.NewDB(t)
	envs := map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner, "VITRINE_DATA_DIR": t.TempDir(), "VITRINE_WORKERS": "1",
		"VITRINE_JOB_RETRY_BASE": "100ms", "VITRINE_LOG_LEVEL": "warn",
	}
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func(envs map[string]string) (*app, func()) {
		cfg, err := loadConfig(newFlagSet(), nil, env(envs))
		if err != nil {
			t.Fatal(err)
		}
		a, err := newApp(ctx, cfg, log, true)
		if err != nil {
			t.Fatal(err)
		}
		stop, err := a.startWorkers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		shut := func() { once.Do(func() { stop(); a.Close() }) }
		t.Cleanup(shut)
		return a, shut
	}
	a, shutA := start(envs)
	p, err := a.db.CreateProduct(ctx, gallery.Product{SupplierID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", "video-001.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	up := &upload.Service{Store: a.store, Gallery: a.db, MaxBytes: 1 << 20, MaxPixels: 1 << 20, ObjectURL: a.objectURL}
	rec, err := up.Receive(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	im, err := up.Add(ctx, p.ID, rec, "")
	if err != nil {
		t.Fatal(err)
	}
	im = waitImage(t, a, im.ID, func(im gallery.Image) bool { return im.Status == gallery.StatusReady })
	if w := im.Variants["desktop"]["webp"].Width; w != 150 {
		t.Fatalf("desktop width %d, want the original's 150", w)
	}

	// The presets change: desktop becomes 64 px. Regenerate replaces the complete record.
	envs["VITRINE_PRESETS"] = "minithumb:32,mobile:48,tablet:56,desktop:64"
	shutA()
	b, _ := start(envs)
	var out bytes.Buffer
	if err := run(ctx, []string{"thumbnails", "regenerate", "-product", p.ID.String()}, env(envs), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 thumbnail job(s) enqueued") {
		t.Fatalf("regenerate said %q", out.String())
	}
	im = waitImage(t, b, im.ID, func(im gallery.Image) bool { return im.Variants["desktop"]["webp"].Width == 64 })
	if im.Status != gallery.StatusReady || im.ThumbnailURL != im.Variants["desktop"]["webp"].URL {
		t.Fatalf("after regenerating: %+v", im)
	}

	// A failed job is listed and can be retried from the command line.
	if _, err := b.db.Pool().Exec(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE id = (SELECT max(id) FROM river_job WHERE kind = 'thumbnail')`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"jobs", "list", "-state", "failed"}, env(envs), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), im.ID.String()) || !strings.Contains(out.String(), "discarded") {
		t.Fatalf("jobs list -state failed:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"jobs", "retry", "-all-failed"}, env(envs), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 job(s)") {
		t.Fatalf("jobs retry said %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"jobs", "list", "-state", "failed"}, env(envs), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), im.ID.String()) {
		t.Fatalf("the retried job is still failed:\n%s", out.String())
	}
}

func waitImage(t *testing.T, a *app, id uuid.UUID, cond func(gallery.Image) bool) gallery.Image {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		im, err := a.db.Image(gallery.WithCaller(context.Background(), gallery.Service()), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(im) {
			return im
		}
		if time.Now().After(deadline) {
			t.Fatalf("image %s: condition never held: %+v", id, im)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
