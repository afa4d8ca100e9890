package jobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testimages"
	"github.com/vitrine-dev/vitrine/jobs"
	"github.com/vitrine-dev/vitrine/storage"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func ready(im gallery.Image) bool { return im.Status == gallery.StatusReady }

func TestUploadCommitsItsJobWithItsRow(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	ctx := serviceCtx
	productID := b.product(t)
	main := b.upload(t, productID, photo(t, "video-001.jpeg"))
	if js := b.jobRows(t, main.ID); len(js) != 1 || js[0].State != "available" {
		t.Fatalf("jobs of the main image: %+v, want one available", js)
	}
	if main.Status != gallery.StatusPending {
		t.Fatalf("status %q, want pending", main.Status)
	}
	second := b.upload(t, productID, photo(t, "video-005.gray.jpeg"))
	if js := b.jobRows(t, second.ID); len(js) != 0 || second.Status != gallery.StatusNone {
		t.Fatalf("a non-main image got jobs %+v (status %s) under the main-only policy", js, second.Status)
	}

	// An upload whose transaction fails leaves neither its row nor its job.
	rec, err := b.uploads.Receive(ctx, bytesReader(photo(t, "video-001.png")))
	if err != nil {
		t.Fatal(err)
	}
	b.store.FailNextCommits(1)
	if _, err := b.uploads.Add(ctx, productID, rec, ""); err == nil {
		t.Fatal("the upload succeeded although its object could not be published")
	}
	var rows, jobsN int
	b.db.Pool().QueryRow(ctx, `SELECT count(*) FROM product_images`).Scan(&rows)
	b.db.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job`).Scan(&jobsN)
	if rows != 2 || jobsN != 1 {
		t.Fatalf("after a failed upload: %d rows and %d jobs, want 2 and 1", rows, jobsN)
	}
}

func TestThumbnailsAreMadeAndRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	b.start(t)
	im := b.upload(t, b.product(t), photo(t, "video-001.jpeg")) // 150×103
	im = b.waitFor(t, im.ID, "ready", ready)
	if len(im.Thumbnails) != 4 || im.ThumbnailURL != im.Thumbnails["desktop"] || im.ThumbnailURL != im.Variants["desktop"]["webp"].URL {
		t.Fatalf("thumbnails %v, thumbnail_url %q", im.Thumbnails, im.ThumbnailURL)
	}
	want := map[string][2]int{"minithumb": {96, 66}, "mobile": {150, 103}, "tablet": {150, 103}, "desktop": {150, 103}}
	stored := map[string]bool{}
	for _, k := range b.objectKeys(t, jobs.VariantsPrefix) {
		stored[k] = true
	}
	for preset, size := range want {
		for _, format := range []string{"webp", "jpeg"} {
			v := im.Variants[preset][format]
			if abs(v.Width-size[0]) > 1 || abs(v.Height-size[1]) > 1 {
				t.Errorf("%s %s is %dx%d, want about %dx%d (never upscaled)", preset, format, v.Width, v.Height, size[0], size[1])
			}
			if !stored[v.Key] {
				t.Errorf("%s %s names %s, which is not in the store", preset, format, v.Key)
			}
		}
	}
	if im.ThumbHash == "" || !strings.HasPrefix(im.DominantColor, "#") {
		t.Errorf("thumbhash %q, dominant colour %q", im.ThumbHash, im.DominantColor)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestStorageFailingTwiceThenWorking(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	im := b.upload(t, b.product(t), photo(t, "video-001.jpeg"))
	b.store.FailNextCommits(2)
	b.start(t)
	im = b.waitFor(t, im.ID, "ready", ready)
	js := b.waitJob(t, im.ID, "completed")
	if len(js) != 1 || js[0].Attempts != 3 {
		t.Fatalf("jobs %+v, want one completed after 3 attempts", js)
	}
	if im.Attempts != 3 {
		t.Fatalf("the API shows %d attempts, want 3", im.Attempts)
	}
	assertOneSet(t, b, im)
}

// storeRaw puts bytes under key, bypassing the upload checks, as bit rot in a store would.
// appendUndecodable appends to a product an image whose original is stored but is no image
// libvips can decode (its header passes for a JPEG's).
func (b *bundle) appendUndecodable(t *testing.T, productID uuid.UUID) gallery.Image {
	t.Helper()
	garbage := append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte("not a jpeg at all "), 500)...)
	sum := sha256.Sum256(garbage)
	key := storage.ContentKey("originals", sum[:], "jpg")
	storeRaw(t, b.store, key, garbage)
	im, err := b.db.AppendImage(serviceCtx, gallery.NewImage{
		ProductID: productID, URL: "http://test/" + key, StoragePath: key, SHA256: hex.EncodeToString(sum[:]),
		Bytes: int64(len(garbage)), Width: 100, Height: 100, MediaType: "image/jpeg",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func storeRaw(t *testing.T, s storage.Store, key string, data []byte) {
	t.Helper()
	ctx := serviceCtx
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := storage.Put(ctx, s, key, data); err != nil {
		t.Fatal(err)
	}
}

func TestUndecodableOriginalFailsAtOnceAndCanBeRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	ctx := serviceCtx
	im := b.appendUndecodable(t, b.product(t))
	key := im.StoragePath
	b.start(t)
	im = b.waitFor(t, im.ID, "failed", func(im gallery.Image) bool { return im.Status == gallery.StatusFailed })
	js := b.jobRows(t, im.ID)
	if len(js) != 1 || js[0].Attempts != 1 || !strings.Contains(js[0].LastError, gallery.UndecodableMessage) {
		t.Fatalf("jobs %+v, want one that gave up after 1 attempt with its error", js)
	}
	if im.LastError != gallery.UndecodableMessage || im.Attempts != 1 {
		t.Fatalf("the API shows %q after %d attempts", im.LastError, im.Attempts)
	}

	// The operator fixes the object and retries the job: it completes.
	storeRaw(t, b.store, key, photo(t, "video-001.jpeg"))
	if _, err := b.client.JobRetry(ctx, js[0].JobID); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, im.ID, "ready", ready)
}

// TestMovedMainDoesNotGetTheOldMainsThumbnails is the legacy design's race: A is the main
// image and its job is running; B becomes the main image before A's job records its result.
// A's variants must not land on B, and B must get its own.
func TestMovedMainDoesNotGetTheOldMainsThumbnails(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	ctx := serviceCtx
	productID := b.product(t)
	a := b.upload(t, productID, photo(t, "video-001.jpeg"))

	held, release := b.holdFirstVariant()
	b.start(t)
	<-held // A's job is running: it has made A's variants and is storing them
	bImage := b.upload(t, productID, photo(t, "video-005.gray.jpeg"))
	if _, err := b.db.MoveImage(ctx, bImage.ID, 0); err != nil {
		t.Fatal(err)
	}
	close(release)

	bImage = b.waitFor(t, bImage.ID, "ready", ready)
	b.waitJobEnds(t, a.ID) // superseded: cancelled, or completed if it finished first
	a, err := b.db.Image(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Thumbnails != nil || a.Variants != nil || a.Status != gallery.StatusNone {
		t.Fatalf("A, no longer main, has thumbnails %v (status %s)", a.Thumbnails, a.Status)
	}
	// B's variants are B's: made from B's original (a grey picture), not A's colour one.
	if bJobs := b.waitJob(t, bImage.ID, "completed"); len(bJobs) != 1 {
		t.Fatalf("B's jobs: %+v", bJobs)
	}
	if bImage.Variants["minithumb"]["webp"].Width != 96 || bImage.Variants["desktop"]["webp"].URL != bImage.ThumbnailURL {
		t.Fatalf("B's variants: %+v", bImage.Variants)
	}
	// A's variants, never recorded, are deleted; only B's remain.
	want := map[string]bool{}
	for _, k := range bImage.Variants.Keys() {
		want[k] = true
	}
	waitObjects(t, b, jobs.VariantsPrefix, want)
}

// waitObjects waits until the objects under prefix are exactly want.
func waitObjects(t *testing.T, b *bundle, prefix string, want map[string]bool) {
	t.Helper()
	for i := 0; ; i++ {
		keys := b.objectKeys(t, prefix)
		same := len(keys) == len(want)
		for _, k := range keys {
			same = same && want[k]
		}
		if same {
			return
		}
		if i > 3000 {
			t.Fatalf("objects under %s: %v, want %v", prefix, keys, want)
		}
		sleepBriefly()
	}
}

func TestTheSameJobRunTwiceChangesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	ctx := serviceCtx
	im := b.upload(t, b.product(t), photo(t, "video-001.jpeg"))
	job := &river.Job[jobs.ThumbnailArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1},
		Args: jobs.ThumbnailArgs{ImageID: im.ID, SourceSHA256: im.SHA256}}
	for range 2 {
		if err := b.thumbs.Work(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	first, err := b.db.Image(ctx, im.ID)
	if err != nil || first.Status != gallery.StatusReady && len(first.Thumbnails) != 4 {
		t.Fatalf("%+v %v", first, err)
	}
	assertOneSet(t, b, first)
	// The conditional UPDATE itself changes a complete record no more.
	target := gallery.ThumbnailTarget{ImageID: im.ID, SourceSHA256: im.SHA256}
	th := gallery.Thumbnails{Variants: first.Variants}
	outcome, err := b.db.RecordThumbnails(ctx, target, th, "webp", func(context.Context) error { return nil })
	if err != nil || outcome != gallery.AlreadyComplete {
		t.Fatalf("recording again: %q %v, want %q", outcome, err, gallery.AlreadyComplete)
	}
	again, _ := b.db.Image(ctx, im.ID)
	if !again.UpdatedAt.Equal(first.UpdatedAt) {
		t.Fatal("a complete record was updated again")
	}
	// A result for another source, or for a gone image, changes nothing either.
	outcome, _ = b.db.RecordThumbnails(ctx, gallery.ThumbnailTarget{ImageID: im.ID, SourceSHA256: strings.Repeat("0", 64)}, th, "webp", func(context.Context) error { return nil })
	if outcome != gallery.SourceChanged {
		t.Fatalf("another source: %q", outcome)
	}
	outcome, _ = b.db.RecordThumbnails(ctx, gallery.ThumbnailTarget{ImageID: uuid.New(), SourceSHA256: im.SHA256}, th, "webp", func(context.Context) error { return nil })
	if outcome != gallery.ImageGone {
		t.Fatalf("a missing image: %q", outcome)
	}
}

func TestDeletingTheMainImagePromotesTheNextAndDeletesObjects(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	ctx := serviceCtx
	productID := b.product(t)
	a := b.upload(t, productID, photo(t, "video-001.jpeg"))
	second := b.upload(t, productID, photo(t, "video-005.gray.jpeg"))
	b.start(t)
	a = b.waitFor(t, a.ID, "ready", ready)
	if _, err := b.db.DeleteImage(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	second = b.waitFor(t, second.ID, "ready", ready)
	want := map[string]bool{}
	for _, k := range second.Variants.Keys() {
		want[k] = true
	}
	waitObjects(t, b, jobs.VariantsPrefix, want)
	waitObjects(t, b, "originals", map[string]bool{second.StoragePath: true})
}

func TestAllPolicyGivesEveryImageThumbnails(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForAll)
	productID := b.product(t)
	var ids []uuid.UUID
	for _, name := range []string{"video-001.jpeg", "video-005.gray.jpeg", "video-001.png"} {
		ids = append(ids, b.upload(t, productID, photo(t, name)).ID)
	}
	b.start(t)
	for _, id := range ids {
		b.waitFor(t, id, "ready", ready)
	}
}

// assertOneSet checks that the store holds exactly the variants the image's record names:
// one object per distinct rendition (identical renditions of a small original share a key).
func assertOneSet(t *testing.T, b *bundle, im gallery.Image) {
	t.Helper()
	want := map[string]bool{}
	for _, k := range im.Variants.Keys() {
		want[k] = true
	}
	if len(im.Variants.Keys()) != 8 {
		t.Fatalf("the record names %d variants, want 4 presets × 2 formats", len(im.Variants.Keys()))
	}
	keys := b.objectKeys(t, jobs.VariantsPrefix)
	if len(keys) != len(want) {
		t.Fatalf("%d variant objects, want the record's %d: %v", len(keys), len(want), keys)
	}
	for _, k := range keys {
		if !want[k] {
			t.Fatalf("object %s is not in the record", k)
		}
	}
}

// TestDeletingAProductDeletesTheObjectsOfItsImages deletes a product with 10 images, each
// with its variants: every one of their objects is gone once the workers have run, with no
// purge, and another product's objects are all kept.
func TestDeletingAProductDeletesTheObjectsOfItsImages(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForAll)
	doomed, kept := b.product(t), b.product(t)
	var ids []uuid.UUID
	for i := range 10 {
		var buf bytes.Buffer
		if err := png.Encode(&buf, testimages.Pattern(120+i, 90)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.upload(t, doomed, buf.Bytes()).ID)
	}
	keep := b.upload(t, kept, photo(t, "video-001.jpeg"))
	b.start(t)
	for _, id := range ids {
		b.waitFor(t, id, "ready", ready)
	}
	keep = b.waitFor(t, keep.ID, "ready", ready)
	if n := len(b.objectKeys(t, "originals")); n != 11 {
		t.Fatalf("%d originals before the delete, want 11", n)
	}
	if err := b.db.DeleteProduct(serviceCtx, doomed); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, k := range keep.Variants.Keys() {
		want[k] = true
	}
	waitObjects(t, b, jobs.VariantsPrefix, want)
	waitObjects(t, b, "originals", map[string]bool{keep.StoragePath: true})
}
