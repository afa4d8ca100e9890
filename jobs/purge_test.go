package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/jobs"
	"github.com/vitrine-dev/vitrine/storage"
)

// TestScheduledPurgeRunsAtBootWhenDueOnly starts workers on a database that has never been
// purged: the purge is overdue, so it runs at once, deletes the orphan and keeps the image's
// original. Workers started again (a restart, or a new leader) find the last run recent and
// do not run it again.
func TestScheduledPurgeRunsAtBootWhenDueOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	im := b.upload(t, b.product(t), photo(t, "video-001.png"))
	if err := storage.Put(serviceCtx, b.store, "originals/00/orphan.png", []byte("orphan")); err != nil {
		t.Fatal(err)
	}
	purge := func() *jobs.PurgeWorker {
		return &jobs.PurgeWorker{DB: b.db, Store: b.store, Every: 7 * 24 * time.Hour, Grace: 0, Logger: b.log}
	}
	first := b.newClient(t, purge())
	startClient(t, first)
	waitPurgeJobs(t, b, 1)
	run, err := b.db.LastPurgeRun(serviceCtx, true)
	if err != nil || run == nil || run.Trigger != gallery.PurgeBySchedule || run.Deleted != 1 {
		t.Fatalf("the boot-time run: %+v, %v", run, err)
	}
	if keys := b.objectKeys(t, "originals"); len(keys) != 1 || keys[0] != im.StoragePath {
		t.Fatalf("originals after the purge: %v, want only %s", keys, im.StoragePath)
	}
	ctx, cancel := context.WithTimeout(serviceCtx, 30*time.Second)
	defer cancel()
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	startClient(t, b.newClient(t, purge()))
	waitPurgeJobs(t, b, 2)
	var runs int
	if err := b.db.Pool().QueryRow(serviceCtx, `SELECT count(*) FROM vitrine_purge_runs`).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 1 {
		t.Fatalf("%d purge runs after a restart, want the one run: it was not due", runs)
	}
}

// waitPurgeJobs waits until n purge jobs have completed.
func waitPurgeJobs(t *testing.T, b *bundle, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var done int
		if err := b.db.Pool().QueryRow(serviceCtx, `SELECT count(*) FROM river_job WHERE kind = 'purge' AND state = 'completed'`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d purge jobs completed, want %d", done, n)
		}
		sleepBriefly()
	}
}

// TestSweepExpiresUnfinishedUploads leaves a direct upload unfinished past its expiry: the
// periodic sweep, run when the workers start, removes it and deletes its staging object,
// and keeps an upload still in time.
func TestSweepExpiresUnfinishedUploads(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	product := b.product(t)
	stage := func(key string, expiresIn string) {
		t.Helper()
		if err := storage.Put(serviceCtx, b.store, key, []byte("a file put with a presigned URL")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.db.Pool().Exec(serviceCtx, `INSERT INTO vitrine_uploads (product_id, object_key, expires_at)
			VALUES ($1, $2, now() + $3::interval)`, product, key, expiresIn); err != nil {
			t.Fatal(err)
		}
	}
	stage("uploads/late", "-1 second")
	stage("uploads/in-time", "1 hour")
	b.start(t)
	waitObjects(t, b, "uploads", map[string]bool{"uploads/in-time": true})
	var left []string
	if err := b.db.Pool().QueryRow(serviceCtx, `SELECT array_agg(object_key) FROM vitrine_uploads`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != "uploads/in-time" {
		t.Fatalf("uploads left: %v, want only the one in time", left)
	}
}
