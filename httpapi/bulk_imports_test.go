package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/httpapi"
)

type bulkImportBody struct {
	ID         uuid.UUID  `json:"id"`
	SupplierID *uuid.UUID `json:"supplier_id"`
	Lines      int        `json:"lines"`
	Queued     int        `json:"queued"`
	Done       int        `json:"done"`
	Failed     int        `json:"failed"`
	FinishedAt *string    `json:"finished_at"`
	Failures   []struct {
		Line    int    `json:"line"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"failures"`
	NextAfter *int `json:"next_after"`
}

// asSupplier returns a copy of b whose requests carry a new supplier's token, and the
// supplier.
func (b *bundle) asSupplier(t *testing.T) (*bundle, uuid.UUID) {
	id := uuid.New()
	c := *b
	c.token = tokenFor(t, gallery.Supplier(id))
	return &c, id
}

func (b *bundle) postFeed(t *testing.T, feed string, out any) int {
	t.Helper()
	return b.do(t, "POST", "/v1/imports", strings.NewReader(feed), "application/x-ndjson", out)
}

// countImports returns the rows of imports and of their lines in the database.
func (b *bundle) countImports(t *testing.T) (imports, lines int) {
	t.Helper()
	err := b.db.Pool().QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM vitrine_imports), (SELECT count(*) FROM vitrine_import_lines)`).Scan(&imports, &lines)
	if err != nil {
		t.Fatal(err)
	}
	return imports, lines
}

// TestBulkImportFailsBadLinesNotTheImport sends a feed whose lines are bad in every way a
// line can be bad when read: each is a failed line of the import with its number and a
// clear error, and the good lines are queued. The import is the supplier's: another
// supplier, and an anonymous caller, get 404.
func TestBulkImportFailsBadLinesNotTheImport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sup, supplierID := b.asSupplier(t)
	var p struct{ ID uuid.UUID }
	if st := sup.doJSON(t, "POST", "/v1/products", map[string]any{}, &p); st != http.StatusCreated {
		t.Fatalf("creating product: %d", st)
	}
	good := fmt.Sprintf(`{"product_id": %q, "source_url": "https://images.example.com/a.jpg", "alt": "front"}`, p.ID)
	feed := strings.Join([]string{
		good, // 1
		`{"product_id": "not-a-uuid", "source_url": "https://images.example.com/b.jpg"}`,                  // 2
		`{"product_id": ` + fmt.Sprintf("%q", p.ID) + `, "source_url": "ftp://images.example.com/c.jpg"}`, // 3
		`{"source_url": "https://images.example.com/d.jpg"}`,                                              // 4
		`not json at all`, // 5
		"",                // 6: blank, skipped
		`{"external_ref": "SKU-1", "source_url": "https://user:pw@images.example.com/e.jpg"}`,                        // 7
		`{"external_ref": "SKU-1", "product_id": ` + fmt.Sprintf("%q", p.ID) + `, "source_url": "https://x.test/f"}`, // 8
		`{"external_ref": "SKU-1", "source_url": "https://images.example.com/g.jpg", "colour": "red"}`,               // 9
		`{"external_ref": "SKU-1", "source_url": "https://images.example.com/h.jpg", "position": -1}`,                // 10
		`{"external_ref": "SKU-1", "source_url": "https://images.example.com/i.jpg"} {}`,                             // 11
		`{"external_ref": "SKU-1", "source_url": "https://images.example.com/j.jpg", "position": 0}`,                 // 12
	}, "\n")
	var created bulkImportBody
	if st := sup.postFeed(t, feed, &created); st != http.StatusAccepted {
		t.Fatalf("POST /v1/imports: %d", st)
	}
	if created.Lines != 11 || created.Failed != 9 || created.Queued != 2 || created.Done != 0 || created.FinishedAt != nil {
		t.Fatalf("import: %+v", created)
	}
	if created.SupplierID == nil || *created.SupplierID != supplierID {
		t.Errorf("the import's supplier is %v, want %s", created.SupplierID, supplierID)
	}
	wantLines := []int{2, 3, 4, 5, 7, 8, 9, 10, 11}
	if len(created.Failures) != len(wantLines) {
		t.Fatalf("failures: %+v", created.Failures)
	}
	for i, f := range created.Failures {
		if f.Line != wantLines[i] || f.Code != string(gallery.EINVALID) || f.Message == "" {
			t.Errorf("failure %d: %+v, want line %d invalid", i, f, wantLines[i])
		}
	}
	t.Logf("failures: %+v", created.Failures)

	var got bulkImportBody
	if st := sup.do(t, "GET", "/v1/imports/"+created.ID.String()+"?limit=4", nil, "", &got); st != http.StatusOK {
		t.Fatalf("GET: %d", st)
	}
	if len(got.Failures) != 4 || got.NextAfter == nil || *got.NextAfter != 5 {
		t.Fatalf("first page: %+v", got)
	}
	if st := sup.do(t, "GET", fmt.Sprintf("/v1/imports/%s?limit=4&after=%d", created.ID, *got.NextAfter), nil, "", &got); st != http.StatusOK {
		t.Fatalf("GET: %d", st)
	}
	if len(got.Failures) != 4 || got.Failures[0].Line != 7 || got.NextAfter == nil {
		t.Fatalf("second page: %+v", got)
	}
	if st := sup.do(t, "GET", "/v1/imports/"+created.ID.String()+"?limit=0", nil, "", nil); st != http.StatusBadRequest {
		t.Errorf("limit=0: %d, want 400", st)
	}

	other, _ := b.asSupplier(t)
	var e apiError
	if st := other.do(t, "GET", "/v1/imports/"+created.ID.String(), nil, "", &e); st != http.StatusNotFound || e.Error.Code != "not_found" {
		t.Errorf("another supplier's GET: %d %+v, want 404", st, e)
	}
	anon := *b
	anon.token = ""
	if st := anon.do(t, "GET", "/v1/imports/"+created.ID.String(), nil, "", nil); st != http.StatusNotFound {
		t.Errorf("an anonymous GET: %d, want 404", st)
	}
	if st := anon.postFeed(t, good, nil); st != http.StatusUnauthorized {
		t.Errorf("an anonymous POST: %d, want 401", st)
	}
	// The service role reads every import.
	if st := b.do(t, "GET", "/v1/imports/"+created.ID.String(), nil, "", nil); st != http.StatusOK {
		t.Errorf("the service's GET: %d", st)
	}
}

// TestBulkImportBoundsLeaveNothing sends feeds over each bound of an import: more lines
// than allowed, a line longer than allowed, no line at all. Each is refused whole with a
// 4xx and leaves no import and no line behind. A supplier's imports beyond the running
// bound are refused with 429.
func TestBulkImportBoundsLeaveNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.bulkImports = httpapi.BulkImports{MaxLines: 5, MaxRunning: 2} })
	sup, _ := b.asSupplier(t)
	line := `{"external_ref": "SKU-1", "source_url": "https://images.example.com/a.jpg"}`
	for name, c := range map[string]struct {
		feed   string
		status int
	}{
		"six lines":  {strings.Repeat(line+"\n", 6), http.StatusRequestEntityTooLarge},
		"long line":  {line + "\n" + `{"external_ref": "SKU-1", "alt": "` + strings.Repeat("a", gallery.MaxImportLineBytes) + `"}` + "\n", http.StatusRequestEntityTooLarge},
		"empty":      {"", http.StatusBadRequest},
		"blank only": {"\n\n  \n", http.StatusBadRequest},
	} {
		var e apiError
		if st := sup.postFeed(t, c.feed, &e); st != c.status {
			t.Errorf("%s: %d %+v, want %d", name, st, e, c.status)
		}
		t.Logf("%s: %s: %s", name, e.Error.Code, e.Error.Message)
	}
	if imports, lines := b.countImports(t); imports != 0 || lines != 0 {
		t.Fatalf("refused feeds left %d imports and %d lines", imports, lines)
	}
	// Nothing works these imports (no job runner here): they stay unfinished.
	for i := range 2 {
		if st := sup.postFeed(t, strings.Repeat(line+"\n", 5), nil); st != http.StatusAccepted {
			t.Fatalf("import %d: %d", i, st)
		}
	}
	var e apiError
	if st := sup.postFeed(t, line, &e); st != http.StatusTooManyRequests || e.Error.Code != "rate_limited" {
		t.Fatalf("a third running import: %d %+v, want 429", st, e)
	}
	other, _ := b.asSupplier(t)
	if st := other.postFeed(t, line, nil); st != http.StatusAccepted {
		t.Fatalf("another supplier's import: %d, want 202", st)
	}
	if imports, lines := b.countImports(t); imports != 3 || lines != 11 {
		t.Fatalf("%d imports and %d lines, want 3 and 11", imports, lines)
	}
}

// TestProductExternalRef: a product's external reference is given at creation, shown by the
// product API, and unique per supplier.
func TestProductExternalRef(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sup, _ := b.asSupplier(t)
	type product struct {
		ID          uuid.UUID `json:"id"`
		ExternalRef *string   `json:"external_ref"`
	}
	var p product
	if st := sup.doJSON(t, "POST", "/v1/products", map[string]any{"external_ref": "SKU-1"}, &p); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	var got product
	if st := sup.do(t, "GET", "/v1/products/"+p.ID.String(), nil, "", &got); st != http.StatusOK || got.ExternalRef == nil || *got.ExternalRef != "SKU-1" {
		t.Fatalf("GET: %d %+v", st, got)
	}
	if st := sup.doJSON(t, "POST", "/v1/products", map[string]any{"external_ref": "SKU-1"}, nil); st != http.StatusConflict {
		t.Errorf("the same reference again: %d, want 409", st)
	}
	if st := sup.doJSON(t, "POST", "/v1/products", map[string]any{"external_ref": ""}, nil); st != http.StatusBadRequest {
		t.Errorf("an empty reference: %d, want 400", st)
	}
	other, _ := b.asSupplier(t)
	if st := other.doJSON(t, "POST", "/v1/products", map[string]any{"external_ref": "SKU-1"}, nil); st != http.StatusCreated {
		t.Errorf("another supplier's SKU-1: %d, want 201", st)
	}
	if st := sup.doJSON(t, "POST", "/v1/products", map[string]any{}, &got); st != http.StatusCreated || got.ExternalRef != nil {
		t.Errorf("a product without reference: %d %+v", st, got)
	}
}

// TestBulkImportTakesAnUploadSlot holds a feed's body open: while it arrives, it holds the
// server's one upload slot (the test waits until it does), so a second feed is refused with
// 503 and Retry-After rather than holding another database connection; the first then ends
// normally.
func TestBulkImportTakesAnUploadSlot(t *testing.T) {
	t.Parallel()
	slots := httpapi.NewUploadSlots(1, 200*time.Millisecond)
	b := setup(t, func(o *options) { o.uploadSlots = slots })
	sup, _ := b.asSupplier(t)
	line := `{"external_ref": "SKU-1", "source_url": "https://images.example.com/a.jpg"}` + "\n"
	pr, pw := io.Pipe()
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", b.url+"/v1/imports", pr)
		req.Header.Set("Authorization", "Bearer "+sup.token)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	if _, err := pw.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	// The client has sent the first line; the server holds the slot once it reads the feed.
	for deadline := time.Now().Add(time.Minute); slots.InUse() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first feed took no upload slot within a minute")
		}
	}
	var e apiError
	if st := sup.postFeed(t, line, &e); st != http.StatusServiceUnavailable || e.Error.Code != "unavailable" {
		t.Errorf("a second feed while the first arrives: %d %+v, want 503", st, e)
	}
	pw.Close()
	if st := <-first; st != http.StatusAccepted {
		t.Errorf("the first feed: %d, want 202", st)
	}
}

// TestBulkImportsOfATeam: a feed sent by an editor of a supplier's team is the supplier's
// import, into the supplier's products, which the supplier and its team read; a viewer sends
// none, and a stranger neither reads it nor acts for the supplier.
func TestBulkImportsOfATeam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	sup, supplier := b.asSupplier(t)
	editor, viewer := uuid.New(), uuid.New()
	for _, m := range []gallery.Member{{SupplierID: supplier, UserID: editor, Role: gallery.MemberEditor}, {SupplierID: supplier, UserID: viewer, Role: gallery.MemberViewer}} {
		if _, err := b.db.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	asEditor := b.as(tokenFor(t, gallery.Supplier(editor))).actingFor(supplier.String())
	asViewer := b.as(tokenFor(t, gallery.Supplier(viewer))).actingFor(supplier.String())
	stranger, _ := b.asSupplier(t)

	var p struct{ ID uuid.UUID }
	if st := sup.doJSON(t, "POST", "/v1/products", map[string]any{}, &p); st != http.StatusCreated {
		t.Fatalf("creating product: %d", st)
	}
	line := fmt.Sprintf(`{"product_id": %q, "source_url": "https://images.example.com/team.jpg"}`, p.ID)
	var created bulkImportBody
	if st := asEditor.postFeed(t, line, &created); st != http.StatusAccepted {
		t.Fatalf("the editor's feed: %d", st)
	}
	if created.SupplierID == nil || *created.SupplierID != supplier || created.Queued != 1 {
		t.Fatalf("the editor's import: %+v, want the supplier's with its line queued", created)
	}
	for name, as := range map[string]*bundle{"supplier": sup, "editor": asEditor, "viewer": asViewer} {
		if st := as.do(t, "GET", "/v1/imports/"+created.ID.String(), nil, "", nil); st != http.StatusOK {
			t.Errorf("the %s reading the team's import: %d, want 200", name, st)
		}
	}
	if st := asViewer.postFeed(t, line, nil); st != http.StatusForbidden {
		t.Errorf("the viewer's feed: %d, want 403", st)
	}
	if st := stranger.do(t, "GET", "/v1/imports/"+created.ID.String(), nil, "", nil); st != http.StatusNotFound {
		t.Errorf("a stranger reading the import: %d, want 404", st)
	}
	if st := stranger.actingFor(supplier.String()).postFeed(t, line, nil); st != http.StatusForbidden {
		t.Errorf("a stranger sending a feed for the supplier: %d, want 403", st)
	}
	if n, _ := b.countImports(t); n != 1 {
		t.Errorf("%d imports, want the editor's only", n)
	}
}
