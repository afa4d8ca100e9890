package jobs_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
)

// TestNewMainSupersedesQueuedJob changes a product's main image again and again while its
// jobs wait: each change cancels the job of the image that stopped being main, so at most
// one job is ever queued for the product, and the image that ends up main gets thumbnails.
func TestNewMainSupersedesQueuedJob(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	ctx := serviceCtx
	productID := b.product(t)
	a := b.upload(t, productID, photo(t, "video-001.jpeg"))
	second := b.upload(t, productID, photo(t, "video-005.gray.jpeg"))
	third := b.upload(t, productID, photo(t, "video-001.png"))
	for _, id := range []uuid.UUID{second.ID, third.ID, a.ID, third.ID, second.ID, a.ID} {
		if _, err := b.db.MoveImage(ctx, id, 0); err != nil {
			t.Fatal(err)
		}
		if n := b.activeJobs(t); n != 1 {
			t.Fatalf("after making %s main: %d thumbnail jobs queued, want 1", id, n)
		}
	}
	if js := b.jobRows(t, second.ID); len(js) != 2 || js[0].State != "cancelled" || js[1].State != "cancelled" {
		t.Fatalf("jobs of an image that was main twice and is not now: %+v, want two cancelled", js)
	}
	b.start(t)
	b.waitFor(t, a.ID, "ready", ready)
	for _, im := range []gallery.Image{second, third} {
		if got, err := b.db.Image(ctx, im.ID); err != nil || got.Status != gallery.StatusNone || got.Thumbnails != nil {
			t.Fatalf("image %s, not main: status %s, thumbnails %v (%v)", im.ID, got.Status, got.Thumbnails, err)
		}
	}
}

// TestMainAgainWhileItsJobIsBeingCancelled makes an image main, then another, then the first
// again while the first's job is still running: the running job is cancelled, and the image,
// main once more, gets a new job (the cancelled one does not count as its duplicate) and
// its thumbnails.
func TestMainAgainWhileItsJobIsBeingCancelled(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	ctx := serviceCtx
	productID := b.product(t)
	a := b.upload(t, productID, photo(t, "video-001.jpeg"))
	other := b.upload(t, productID, photo(t, "video-005.gray.jpeg"))

	held, release := b.holdFirstVariant()
	b.start(t)
	<-held // A's first job is running
	if _, err := b.db.MoveImage(ctx, other.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.MoveImage(ctx, a.ID, 0); err != nil {
		t.Fatal(err)
	}
	if js := b.jobRows(t, a.ID); len(js) != 2 {
		t.Fatalf("A's jobs after it became main again while its job ran: %+v, want a new one beside the running one", js)
	}
	close(release)
	a = b.waitFor(t, a.ID, "ready", ready)
	if a.Order != 0 || a.Thumbnails == nil {
		t.Fatalf("A: order %d, thumbnails %v", a.Order, a.Thumbnails)
	}
	js := b.waitJobEnds(t, a.ID)
	if js[1].State != "cancelled" && js[1].State != "completed" {
		t.Fatalf("A's superseded job ended %s", js[1].State)
	}
}

// TestDeletedImageJobIsCancelled deletes images whose jobs wait, under the policy that
// gives every image thumbnails: their jobs are cancelled with them; the others' stay.
func TestDeletedImageJobIsCancelled(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForAll)
	ctx := serviceCtx
	productID := b.product(t)
	keep := b.upload(t, productID, photo(t, "video-001.jpeg"))
	gone := b.upload(t, productID, photo(t, "video-005.gray.jpeg"))
	if _, err := b.db.DeleteImage(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if js := b.jobRows(t, gone.ID); len(js) != 1 || js[0].State != "cancelled" {
		t.Fatalf("job of a deleted image: %+v, want cancelled", js)
	}
	if js := b.jobRows(t, keep.ID); len(js) != 1 || js[0].State != "available" {
		t.Fatalf("job of the image kept: %+v, want available", js)
	}
	if err := b.db.DeleteProduct(ctx, productID); err != nil {
		t.Fatal(err)
	}
	if n := b.activeJobs(t); n != 0 {
		t.Fatalf("%d thumbnail jobs still queued after their product was deleted", n)
	}
}

// activeJobs counts the thumbnail jobs not yet finished.
func (b *bundle) activeJobs(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.db.Pool().QueryRow(serviceCtx, `SELECT count(*) FROM river_job
		WHERE kind = 'thumbnail' AND state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitJobEnds waits until every thumbnail job of the image has finished, and returns them,
// newest first.
func (b *bundle) waitJobEnds(t *testing.T, imageID uuid.UUID) []postgres.ThumbnailJob {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		js := b.jobRows(t, imageID)
		done := len(js) > 0
		for _, j := range js {
			done = done && (j.State == "completed" || j.State == "cancelled" || j.State == "discarded")
		}
		if done {
			return js
		}
		if time.Now().After(deadline) {
			t.Fatalf("the jobs of image %s never finished: %+v", imageID, js)
		}
		sleepBriefly()
	}
}
