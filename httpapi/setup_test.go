package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/httpapi"
	"github.com/vitrine-dev/vitrine/jobs"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/localfs"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
	"github.com/vitrine-dev/vitrine/upload"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	s3test.Stop()
	os.Exit(code)
}

// bundle is what a test gets from setup: a running API over a fresh database and store.
// The API logs in as vitrine_app, as in production; db is the owner's pool, for checking
// rows directly. Requests carry token (a service-role token unless a test sets another).
type bundle struct {
	url      string
	db       *postgres.DB
	store    storage.Store // local disk, or an S3 bucket on versitygw with the s3 option
	storeDir string
	token    string
	actFor   string // the Vitrine-Supplier header of requests; "" for none
	ownerURL string // the database's owner URL, to serve a second API on the same database
}

// testSecret signs the tests' tokens.
var testSecret = []byte("vitrine-test-secret-0123456789abcdef")

// tokenFor mints a token for caller.
func tokenFor(t testing.TB, c gallery.Caller) string {
	t.Helper()
	tok, err := jwtauth.Mint(testSecret, c, "", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type options struct {
	maxBytes, maxPixels int64
	limit               *httpapiLimiter
	stall               time.Duration
	s3                  bool // a fresh bucket on versitygw instead of local disk
	// objectLocation, when set, is the API's ObjectLocation, with a max age of a minute.
	objectLocation func(ctx context.Context, key string) (string, error)
	ownerURL       string // the database to serve; "" for a fresh migrated one
	// wrapStore, when set, wraps the store the API is given (to watch what it is asked).
	wrapStore func(storage.Store) storage.Store
	// uploadSlots, when set, is the API's server-wide bound on upload bodies taken in at once.
	uploadSlots *httpapi.UploadSlots
	// corsOrigins are the origins whose pages may call /v1 from a browser.
	corsOrigins []string
	// jobs makes gallery writes enqueue thumbnail jobs (main images only), which nothing
	// works: they stay pending.
	jobs bool
	// events configures the API's event hub (which every test's API runs).
	events httpapi.HubConfig
	// writeTimeout is the API's WriteTimeout; zero: none.
	writeTimeout time.Duration
	// supplierClaim is the claim path naming the supplier a user acts for, given to the
	// token verifier and recorded in the database, as `vitrine serve` does; nil: none.
	supplierClaim []string
	// uploadTypes are the accepted upload types; the zero Types accepts all.
	uploadTypes upload.Types
	// bulkImports bounds POST /v1/imports (default: 1000 lines, 3 running imports a supplier).
	bulkImports httpapi.BulkImports
}

type httpapiLimiter struct{ perMinute, burst, writesPerMinute, writeBurst float64 }

func setup(t testing.TB, opts ...func(*options)) *bundle {
	t.Helper()
	o := options{maxBytes: 25 << 20, maxPixels: 50_000_000, bulkImports: httpapi.BulkImports{MaxLines: 1000, MaxRunning: 3}}
	for _, f := range opts {
		f(&o)
	}
	ownerURL := o.ownerURL
	if ownerURL == "" {
		ownerURL = pgtest.NewDB(t)
	}
	db, err := postgres.Open(context.Background(), ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	app, err := postgres.Open(context.Background(), pgtest.AppURL(ownerURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	if o.jobs {
		enq, err := jobs.NewEnqueuer(app.Pool(), jobs.Config{MaxAttempts: 10})
		if err != nil {
			t.Fatal(err)
		}
		app = app.WithJobs(enq, gallery.ThumbnailsForMain)
	}
	auth, err := jwtauth.New(jwtauth.Config{Secret: testSecret, SupplierClaim: o.supplierClaim})
	if err != nil {
		t.Fatal(err)
	}
	if o.supplierClaim != nil {
		if err := app.SetSupplierClaim(gallery.WithCaller(context.Background(), gallery.Service()), o.supplierClaim); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	var store storage.Store
	if o.s3 {
		store = s3test.NewStore(t)
	} else {
		local, err := localfs.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { local.Close() })
		store = local
	}
	if o.wrapStore != nil {
		store = o.wrapStore(store)
	}
	var srv *httptest.Server
	objectURL := func(key string) string { return srv.URL + "/objects/" + key }
	api := &httpapi.Server{
		Auth:     auth,
		Gallery:  app,
		Webhooks: app,
		Uploads:  &upload.Service{Store: store, Gallery: app, MaxBytes: o.maxBytes, MaxPixels: o.maxPixels, ObjectURL: objectURL, DirectTTL: time.Hour, Types: o.uploadTypes},
		Store:    store, ObjectURL: objectURL,
		Presets: gallery.PresetNames(gallery.DefaultPresets()),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	api.Readiness = httpapi.NewReadiness(api.Logger, httpapi.DatabaseCheck(app), httpapi.StoreCheck(store))
	api.UploadSlots = o.uploadSlots
	api.WriteTimeout = o.writeTimeout
	api.BulkImports = o.bulkImports
	api.Events = httpapi.NewHub(app, o.events)
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); api.Events.Run(hubCtx) }()
	t.Cleanup(func() { stopHub(); <-hubDone })
	api.CORSOrigins = o.corsOrigins
	if o.stall > 0 {
		api.UploadTimeouts = httpapi.Timeouts{Stall: o.stall, Total: time.Minute}
	}
	if o.objectLocation != nil {
		api.ObjectLocation, api.ObjectLocationMaxAge = o.objectLocation, time.Minute
	}
	if o.limit != nil {
		api.Limits = &httpapi.Limits{Buckets: app,
			Uploads: httpapi.Rate{PerMinute: o.limit.perMinute, Burst: o.limit.burst},
			Writes:  httpapi.Rate{PerMinute: o.limit.writesPerMinute, Burst: o.limit.writeBurst}}
	}
	srv = httptest.NewUnstartedServer(api.Handler())
	srv.Config.RegisterOnShutdown(api.Events.Shutdown)
	srv.Start()
	t.Cleanup(func() { api.Events.Shutdown(); srv.Close() })
	return &bundle{url: srv.URL, db: db, store: store, storeDir: dir, token: tokenFor(t, gallery.Service()), ownerURL: ownerURL}
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type imageBody struct {
	ID        uuid.UUID `json:"id"`
	ProductID uuid.UUID `json:"product_id"`
	Position  int       `json:"position"`
	URL       string    `json:"url"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	MediaType string    `json:"media_type"`
	Bytes     int64     `json:"bytes"`
	Alt       string    `json:"alt"`
	SHA256    string    `json:"sha256"`
}

type galleryBody struct {
	ProductID uuid.UUID   `json:"product_id"`
	Images    []imageBody `json:"images"`
}

// do sends a request and decodes a JSON answer into out (when not nil). It returns the status.
func (b *bundle) do(t *testing.T, method, path string, body io.Reader, contentType string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, b.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	if b.actFor != "" {
		req.Header.Set(gallery.SupplierHeader, b.actFor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 400 {
		// Every error has the documented shape, with a code and a message.
		var e apiError
		if err := json.Unmarshal(data, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %s: %d with a body that is not an API error: %q", method, path, resp.StatusCode, data)
		}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

func (b *bundle) doJSON(t *testing.T, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	return b.do(t, method, path, body, "application/json", out)
}

func (b *bundle) createProduct(t *testing.T) uuid.UUID {
	t.Helper()
	var p struct {
		ID uuid.UUID `json:"id"`
	}
	if st := b.doJSON(t, "POST", "/v1/products", map[string]any{"supplier_id": uuid.New()}, &p); st != http.StatusCreated {
		t.Fatalf("creating product: %d", st)
	}
	return p.ID
}

// multipartBody builds an upload form. Fields are written in the order given.
func multipartBody(t *testing.T, fields ...[2]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		var w io.Writer
		var err error
		if f[0] == "file" || f[0] == "file2" {
			w, err = mw.CreateFormFile("file", "photo.jpg")
		} else {
			w, err = mw.CreateFormField(f[0])
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f[1]))
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (b *bundle) upload(t *testing.T, productID uuid.UUID, data []byte, alt string, out any) int {
	t.Helper()
	body, ct := multipartBody(t, [2]string{"alt", alt}, [2]string{"file", string(data)})
	return b.do(t, "POST", "/v1/products/"+productID.String()+"/images", body, ct, out)
}

// assertNothingStored checks invariant 6 after refused uploads: no image row, no object and
// no temporary file.
func (b *bundle) assertNothingStored(t *testing.T) {
	t.Helper()
	var n int
	if err := b.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM product_images`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d image rows left behind", n)
	}
	for obj, err := range b.store.List(context.Background(), "", "") {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("object %s left behind", obj.Key)
	}
	filepath.WalkDir(b.storeDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("file %s left in the store's directory", path)
		}
		return nil
	})
}
