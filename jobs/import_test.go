package jobs_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// source is an httptest server whose answer to each path a test sets.
type source struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]func(http.ResponseWriter, *http.Request)
}

func newSource(t *testing.T) *source {
	s := &source{answers: map[string]func(http.ResponseWriter, *http.Request){}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		h := s.answers[r.URL.Path]
		s.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *source) serve(path string, body []byte, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[path] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}
}

func (b *bundle) importImage(t *testing.T, in gallery.NewImport) (gallery.Image, bool) {
	t.Helper()
	im, existed, err := b.uploads.Import(serviceCtx, in)
	if err != nil {
		t.Fatal(err)
	}
	return im, existed
}

func TestImportPublishesLikeAnUpload(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	src := newSource(t)
	photo, err := os.ReadFile(testphotos.Medium(t))
	if err != nil {
		t.Fatal(err)
	}
	src.serve("/dune.jpg", photo, "image/jpeg")
	productID := b.product(t)
	im, existed := b.importImage(t, gallery.NewImport{ProductID: productID, SourceURL: src.URL + "/dune.jpg", Alt: "dune"})
	if existed || im.Status != gallery.StatusImporting || im.Order != 0 || im.StoragePath != "" || im.SourceURL != src.URL+"/dune.jpg" {
		t.Fatalf("new import: existed %v, %+v", existed, im)
	}
	b.start(t)
	im = b.waitFor(t, im.ID, "ready", func(im gallery.Image) bool { return im.Status == gallery.StatusReady })
	if im.Width != 1680 || im.Height != 1050 || im.MediaType != "image/jpeg" || im.SourceURL != src.URL+"/dune.jpg" || im.Alt != "dune" {
		t.Fatalf("published import: %+v", im)
	}
	r, _, err := b.store.Open(serviceCtx, im.StoragePath, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var stored bytes.Buffer
	stored.ReadFrom(r)
	r.Close()
	if bytes.Contains(stored.Bytes(), []byte("Canon")) || int64(stored.Len()) != im.Bytes {
		t.Fatalf("the stored original (%d bytes, recorded %d) still has the camera's EXIF", stored.Len(), im.Bytes)
	}
	again, existed := b.importImage(t, gallery.NewImport{ProductID: productID, SourceURL: src.URL + "/dune.jpg", Alt: "other"})
	if !existed || again.ID != im.ID || again.Alt != "dune" {
		t.Fatalf("second import of the same URL: existed %v, %+v", existed, again)
	}
}

func TestImportPositionsAndRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	productID := b.product(t)
	pos := func(n int) *int { return &n }
	a, _ := b.importImage(t, gallery.NewImport{ProductID: productID, SourceURL: "https://example.com/a.jpg"})
	c, _ := b.importImage(t, gallery.NewImport{ProductID: productID, SourceURL: "https://example.com/c.jpg"})
	bb, _ := b.importImage(t, gallery.NewImport{ProductID: productID, SourceURL: "https://example.com/b.jpg", Position: pos(1)})
	g, err := b.db.Images(serviceCtx, productID)
	if err != nil {
		t.Fatal(err)
	}
	want := []uuid.UUID{a.ID, bb.ID, c.ID}
	for i, im := range g {
		if im.ID != want[i] || im.Order != i || im.Status != gallery.StatusImporting {
			t.Fatalf("gallery %d: %+v, want %s", i, im, want[i])
		}
	}
	for _, in := range []gallery.NewImport{
		{ProductID: productID, SourceURL: "https://example.com/d.jpg", Position: pos(4)},
		{ProductID: productID, SourceURL: "https://example.com/d.jpg", Position: pos(-1)},
		{ProductID: productID, SourceURL: "ftp://example.com/d.jpg"},
		{ProductID: productID, SourceURL: "https://user:pw@example.com/d.jpg"},
		{ProductID: productID, SourceURL: "https:///d.jpg"},
		{ProductID: productID, SourceURL: "/d.jpg"},
	} {
		if _, _, err := b.uploads.Import(serviceCtx, in); gallery.ErrorCode(err) != gallery.EINVALID {
			t.Errorf("import %+v: %v, want invalid", in, err)
		}
	}
	if _, _, err := b.uploads.Import(serviceCtx, gallery.NewImport{ProductID: uuid.New(), SourceURL: "https://example.com/x.jpg"}); gallery.ErrorCode(err) != gallery.ENOTFOUND {
		t.Errorf("import into a missing product: %v", err)
	}
	if g, _ := b.db.Images(serviceCtx, productID); len(g) != 3 {
		t.Fatalf("refused imports left rows: %d images", len(g))
	}
}

func TestImportFailsThenRetrySucceeds(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	src := newSource(t)
	productID := b.product(t)
	b.start(t)
	im, _ := b.importImage(t, gallery.NewImport{ProductID: productID, SourceURL: src.URL + "/later.png"})
	im = b.waitFor(t, im.ID, "failed", func(im gallery.Image) bool { return im.Status == gallery.StatusFailed })
	if im.ImportFailure != gallery.ImportSourceStatus || im.LastError != "the source answered 404 Not Found" {
		t.Fatalf("failed import: %+v", im)
	}
	if keys := b.objectKeys(t, ""); len(keys) != 0 {
		t.Fatalf("a failed import left objects: %v", keys)
	}
	src.serve("/later.png", photo(t, "video-001.png"), "image/png")
	im, err := b.db.RetryThumbnails(serviceCtx, im.ID)
	if err != nil || im.Status != gallery.StatusImporting || im.LastError != "" || im.ImportFailure != "" {
		t.Fatalf("retry: %v, %+v", err, im)
	}
	b.waitFor(t, im.ID, "ready", func(im gallery.Image) bool { return im.Status == gallery.StatusReady })
}

// TestImportOfDeletedImageLeavesNothing deletes an image while its source is being fetched:
// the fetched original is not published, and nothing is left in the store.
func TestImportOfDeletedImageLeavesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	src := newSource(t)
	asked, release := make(chan struct{}), make(chan struct{})
	img := photo(t, "video-001.png")
	src.mu.Lock()
	src.answers["/held.png"] = func(w http.ResponseWriter, r *http.Request) {
		close(asked)
		<-release
		w.Header().Set("Content-Type", "image/png")
		w.Write(img)
	}
	src.mu.Unlock()
	productID := b.product(t)
	im, _ := b.importImage(t, gallery.NewImport{ProductID: productID, SourceURL: src.URL + "/held.png"})
	b.start(t)
	<-asked
	if _, err := b.db.DeleteImage(serviceCtx, im.ID); err != nil {
		t.Fatal(err)
	}
	close(release)
	// The job ends (completed: there is nothing left to do) with nothing stored.
	deadline := time.Now().Add(time.Minute)
	for {
		var state string
		err := b.db.Pool().QueryRow(serviceCtx, `SELECT state FROM river_job WHERE kind = 'import' AND args->>'image_id' = $1`, im.ID.String()).Scan(&state)
		if err != nil {
			t.Fatal(err)
		}
		if state == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import job is %s", state)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if keys := b.objectKeys(t, ""); len(keys) != 0 {
		t.Fatalf("the import of a deleted image left objects: %v", keys)
	}
}

// TestImportDropsLegacyThumbnailsOfNoOriginal: thumbnails that the legacy design's RPC records
// on a main image still being imported are not of its original; publishing it drops them, and
// its own are made.
func TestImportDropsLegacyThumbnailsOfNoOriginal(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	src := newSource(t)
	src.serve("/a.png", photo(t, "video-001.png"), "image/png")
	productID := b.product(t)
	im, _ := b.importImage(t, gallery.NewImport{ProductID: productID, SourceURL: src.URL + "/a.png"})
	var set bool
	if err := b.db.Pool().QueryRow(serviceCtx, `SELECT set_main_thumbnails($1, 'https://old/d', 'https://old/m', 'https://old/t', 'https://old/s')`,
		productID).Scan(&set); err != nil || !set {
		t.Fatalf("set_main_thumbnails: %v %v", set, err)
	}
	b.start(t)
	im = b.waitFor(t, im.ID, "ready", func(im gallery.Image) bool { return im.Status == gallery.StatusReady && im.SHA256 != "" })
	if strings.HasPrefix(im.ThumbnailURL, "https://old/") || len(im.Variants) == 0 {
		t.Fatalf("published import kept the legacy thumbnails: %+v", im)
	}
}
