package jobs_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
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

// importJobs counts the import jobs River holds for the images.
func (b *bundle) importJobs(t *testing.T, ids ...uuid.UUID) int {
	t.Helper()
	var n int
	err := b.db.Pool().QueryRow(serviceCtx, `SELECT count(*) FROM river_job
		WHERE kind = $1 AND (args->>'image_id')::uuid = ANY($2)`, gallery.ImportJobKind, ids).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportManyMakesABatchInOneTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	supplier, other := uuid.New(), uuid.New()
	var products []uuid.UUID
	for _, s := range []uuid.UUID{supplier, supplier, other} {
		p, err := b.db.CreateProduct(serviceCtx, gallery.Product{SupplierID: s})
		if err != nil {
			t.Fatal(err)
		}
		products = append(products, p.ID)
	}
	p1, p2, theirs := products[0], products[1], products[2]
	pos := func(n int) *int { return &n }
	batch := []gallery.NewImport{
		{ProductID: p1, SourceURL: "https://example.com/a.jpg", Alt: "a"},
		{ProductID: p2, SourceURL: "https://example.com/x.jpg"},
		{ProductID: p1, SourceURL: "https://example.com/b.jpg", Position: pos(0)},
		{ProductID: p1, SourceURL: "ftp://example.com/bad.jpg"},
		{ProductID: uuid.New(), SourceURL: "https://example.com/nowhere.jpg"},
		{ProductID: theirs, SourceURL: "https://example.com/theirs.jpg"},
		{ProductID: p1, SourceURL: "https://example.com/far.jpg", Position: pos(9)},
		{ProductID: p1, SourceURL: "https://example.com/d.jpg", Position: pos(9), ClampPosition: true},
		{ProductID: p1, SourceURL: "https://example.com/a.jpg", Alt: "again"},
	}
	want := []gallery.Code{"", "", "", gallery.EINVALID, gallery.ENOTFOUND, gallery.ENOTFOUND, gallery.EINVALID, "", ""}
	as := gallery.WithCaller(serviceCtx, gallery.Supplier(supplier))
	check := func(round int) []uuid.UUID {
		res, err := b.uploads.ImportMany(as, batch)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uuid.UUID
		for i, r := range res {
			if code := gallery.ErrorCode(r.Err); r.Err != nil && code != want[i] || r.Err == nil && want[i] != "" {
				t.Fatalf("round %d, import %d (%+v): %v, want %q", round, i, batch[i], r.Err, want[i])
			}
			if r.Err == nil {
				ids = append(ids, r.Image.ID)
				if r.Existed != (round > 0 || i == 8) {
					t.Errorf("round %d, import %d: existed %v", round, i, r.Existed)
				}
			}
		}
		// a (and its repeat), x, b, d: the product's order is the batch's, each at its place.
		if ids[0] != ids[4] {
			t.Errorf("round %d: the same URL made two images, %s and %s", round, ids[0], ids[4])
		}
		g, err := b.db.Images(serviceCtx, p1)
		if err != nil {
			t.Fatal(err)
		}
		wantOrder := []uuid.UUID{ids[2], ids[0], ids[3]}
		if len(g) != len(wantOrder) {
			t.Fatalf("round %d: %d images in the gallery, want %d", round, len(g), len(wantOrder))
		}
		for i, im := range g {
			if im.ID != wantOrder[i] || im.Order != i || im.Status != gallery.StatusImporting {
				t.Fatalf("round %d, gallery %d: %+v, want %s", round, i, im, wantOrder[i])
			}
		}
		if g[1].Alt != "a" {
			t.Errorf("round %d: a repeated URL changed its image's alt to %q", round, g[1].Alt)
		}
		if n := b.importJobs(t, ids...); n != 4 {
			t.Fatalf("round %d: %d import jobs for 4 images", round, n)
		}
		return ids
	}
	first := check(0)
	if again := check(1); !slices.Equal(first, again) {
		t.Fatalf("a batch sent again made other images: %v, then %v", first, again)
	}
	if g, _ := b.db.Images(serviceCtx, theirs); len(g) != 0 {
		t.Fatalf("another supplier's product got %d images", len(g))
	}
	var rows int
	if err := b.db.Pool().QueryRow(serviceCtx, `SELECT count(*) FROM product_images WHERE source_url IN ('ftp://example.com/bad.jpg', 'https://example.com/far.jpg', 'https://example.com/nowhere.jpg', 'https://example.com/theirs.jpg')`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("refused imports left %d rows (%v)", rows, err)
	}
}
