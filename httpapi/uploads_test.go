package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/storage"
)

type directUpload struct {
	ID          uuid.UUID `json:"id"`
	ProductID   uuid.UUID `json:"product_id"`
	Method      string    `json:"method"`
	UploadURL   string    `json:"upload_url"`
	CompleteURL string    `json:"complete_url"`
	MaxBytes    int64     `json:"max_bytes"`
}

// put sends data to a presigned URL, as a client does, straight to the bucket.
func put(t *testing.T, url string, data []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("PUT to the presigned URL: %s", res.Status)
	}
}

// exists reports whether the store holds key.
func (b *bundle) exists(t *testing.T, key string) bool {
	t.Helper()
	_, err := b.store.Stat(context.Background(), key)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// drain runs the object outbox's drain as its worker does.
func (b *bundle) drain(t *testing.T) {
	t.Helper()
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	if _, err := b.db.ExpireUploads(ctx); err != nil {
		t.Fatal(err)
	}
	del := func(ctx context.Context, keys []string) error { return storage.DeleteAll(ctx, b.store, keys) }
	if _, err := b.db.DrainObjectOutbox(ctx, 100, del); err != nil {
		t.Fatal(err)
	}
}

// TestDirectUploadThroughTheBucket sends a photo straight to a real S3 server (versitygw)
// with a presigned URL and completes it: the image is in the gallery as after a normal
// upload, the staging object goes, and a second completion is refused. A refused file and
// an expired upload leave no row and no object.
func TestDirectUploadThroughTheBucket(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.s3 = true })
	supplier := uuid.New()
	as := b.as(tokenFor(t, gallery.Supplier(supplier)))
	other := b.as(tokenFor(t, gallery.Supplier(uuid.New())))
	var p struct{ ID uuid.UUID }
	if st := as.doJSON(t, "POST", "/v1/products", map[string]any{}, &p); st != 201 {
		t.Fatalf("creating a product: %d", st)
	}
	start := func(as *bundle, body any) (directUpload, int) {
		t.Helper()
		var up directUpload
		st := as.doJSON(t, "POST", "/v1/products/"+p.ID.String()+"/uploads", body, &up)
		return up, st
	}
	if _, st := start(other, nil); st != 404 {
		t.Fatalf("another supplier starting an upload to an unpublished product: %d, want 404", st)
	}
	up, st := start(as, map[string]string{"alt": "a red chair"})
	if st != 201 || up.Method != "PUT" || up.UploadURL == "" || up.ProductID != p.ID || up.CompleteURL != "/v1/uploads/"+up.ID.String()+"/complete" {
		t.Fatalf("starting a direct upload: %d %+v", st, up)
	}
	var e apiError
	if st := as.doJSON(t, "POST", up.CompleteURL, nil, &e); st != 409 {
		t.Fatalf("completing before the PUT: %d %+v, want 409", st, e)
	}
	jpeg := readFile(t, goroot("testdata", "video-001.jpeg"))
	put(t, up.UploadURL, jpeg)
	if st := other.doJSON(t, "POST", up.CompleteURL, nil, nil); st != 404 {
		t.Fatalf("another supplier completing the upload: %d, want 404", st)
	}
	var im imageBody
	if st := as.doJSON(t, "POST", up.CompleteURL, nil, &im); st != 201 {
		t.Fatalf("completing: %d", st)
	}
	if im.Position != 0 || im.Alt != "a red chair" || im.Width != 150 || im.Height != 103 || im.MediaType != "image/jpeg" {
		t.Fatalf("the image: %+v", im)
	}
	var path string
	if err := b.db.Pool().QueryRow(context.Background(), `SELECT storage_path FROM product_images WHERE id = $1`, im.ID).Scan(&path); err != nil {
		t.Fatal(err)
	}
	staging := "uploads/" + up.ID.String()
	if !b.exists(t, path) || !b.exists(t, staging) {
		t.Fatalf("original %s or staging object missing before the drain", path)
	}
	b.drain(t)
	if !b.exists(t, path) || b.exists(t, staging) {
		t.Fatalf("after the drain: original kept %v, staging object kept %v; want kept, gone", b.exists(t, path), b.exists(t, staging))
	}
	if st := as.doJSON(t, "POST", up.CompleteURL, nil, nil); st != 404 {
		t.Fatalf("completing twice: %d, want 404", st)
	}

	// Not an image: refused as a normal upload would be, and nothing is left.
	bad, _ := start(as, nil)
	put(t, bad.UploadURL, []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"))
	if st := as.doJSON(t, "POST", bad.CompleteURL, nil, &e); st != 415 || e.Error.Code != "unsupported_media" {
		t.Fatalf("completing an SVG: %d %+v, want 415", st, e)
	}
	b.drain(t)
	if b.exists(t, "uploads/"+bad.ID.String()) {
		t.Fatal("the refused file's staging object is still there")
	}
	if st := as.doJSON(t, "POST", bad.CompleteURL, nil, nil); st != 404 {
		t.Fatalf("completing a refused upload again: %d, want 404", st)
	}

	// Expired: not completed in time, removed with its object.
	late, _ := start(as, nil)
	put(t, late.UploadURL, jpeg)
	if _, err := b.db.Pool().Exec(context.Background(), `UPDATE vitrine_uploads SET expires_at = now() - interval '1 second' WHERE id = $1`, late.ID); err != nil {
		t.Fatal(err)
	}
	if st := as.doJSON(t, "POST", late.CompleteURL, nil, nil); st != 404 {
		t.Fatalf("completing an expired upload: %d, want 404", st)
	}
	b.drain(t)
	if b.exists(t, "uploads/"+late.ID.String()) {
		t.Fatal("the expired upload's staging object is still there")
	}
	var images, uploads int
	if err := b.db.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM product_images), (SELECT count(*) FROM vitrine_uploads)`).Scan(&images, &uploads); err != nil {
		t.Fatal(err)
	}
	if images != 1 || uploads != 0 {
		t.Fatalf("%d images and %d uploads left, want the one image and no upload", images, uploads)
	}
}

func TestDirectUploadNeedsABucket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.createProduct(t)
	var e apiError
	if st := b.doJSON(t, "POST", "/v1/products/"+id.String()+"/uploads", nil, &e); st != 501 || e.Error.Code != "not_implemented" {
		t.Fatalf("a direct upload on local disk: %d %+v, want 501", st, e)
	}
}
