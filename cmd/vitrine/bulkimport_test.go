package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// photoSource is a local HTTP server of real photographs: GET /p/{n} answers photograph n
// modulo their number, so that every line of a feed has a URL of its own. With delay, each
// answer drips its body over that long (a slow host).
type photoSource struct {
	*httptest.Server
	hostPort string
	served   atomic.Int64
}

// smallPhotos returns the n smallest of testphotos' photographs, for tests that import many.
func smallPhotos(t testing.TB, n int) [][]byte {
	t.Helper()
	paths, err := testphotos.Photographs()
	if err != nil {
		t.Fatal(err)
	}
	var photos [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		photos = append(photos, b)
	}
	slices.SortFunc(photos, func(a, b []byte) int { return len(a) - len(b) })
	return photos[:min(n, len(photos))]
}

// startPhotoSource serves photos on ip (a loopback address) until the test ends.
func startPhotoSource(t testing.TB, ip string, photos [][]byte, delay time.Duration) *photoSource {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	s := &photoSource{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil || n < 0 {
			http.NotFound(w, r)
			return
		}
		s.served.Add(1)
		photo := photos[n%len(photos)]
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Length", strconv.Itoa(len(photo)))
		if delay <= 0 {
			w.Write(photo)
			return
		}
		const steps = 10
		for i := range steps {
			w.Write(photo[i*len(photo)/steps : (i+1)*len(photo)/steps])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(delay / steps):
			}
		}
	}))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	s.hostPort = ln.Addr().String()
	return s
}

// bulkImportBody is a bulk import as GET /v1/imports/{id} answers it.
type bulkImportBody struct {
	ID         uuid.UUID  `json:"id"`
	Lines      int        `json:"lines"`
	Queued     int        `json:"queued"`
	Done       int        `json:"done"`
	Failed     int        `json:"failed"`
	FinishedAt *time.Time `json:"finished_at"`
	Failures   []struct {
		Line    int    `json:"line"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"failures"`
}

// postFeed sends feed to POST /v1/imports and returns the import (202).
func postFeed(t testing.TB, base, token string, feed []byte) bulkImportBody {
	t.Helper()
	var b bulkImportBody
	resp := send(t, "POST", base+"/v1/imports", token, bytes.NewReader(feed), "application/x-ndjson", &b)
	if resp.StatusCode != http.StatusAccepted {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /v1/imports: %d %s", resp.StatusCode, body)
	}
	return b
}

// readBulkImport reads an import; ok is false when the server did not answer.
func readBulkImport(base, token string, id uuid.UUID) (b bulkImportBody, status int, ok bool) {
	req, _ := http.NewRequest("GET", base+"/v1/imports/"+id.String(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return b, 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&b) != nil {
		return b, 0, false
	}
	return b, resp.StatusCode, true
}

// waitBulkImport reads an import until cond holds of it, for at most timeout.
func waitBulkImport(t testing.TB, base, token string, id uuid.UUID, timeout time.Duration, cond func(bulkImportBody) bool) bulkImportBody {
	t.Helper()
	var last bulkImportBody
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b, status, ok := readBulkImport(base, token, id)
		if !ok || status != http.StatusOK {
			continue
		}
		if last = b; cond(b) {
			return b
		}
	}
	t.Fatalf("import %s: the condition did not hold within %s; last: %+v", id, timeout, last)
	return last
}

func finished(b bulkImportBody) bool { return b.FinishedAt != nil }

// gallerySources returns each product's images' source URLs in gallery order, and how many
// of them are not published (still importing, or failed), read as the database's owner.
func gallerySources(t testing.TB, pool *pgxpool.Pool, products []uuid.UUID) (map[uuid.UUID][]string, int) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT product_id, coalesce(source_url, ''), import_status IS NOT NULL
		FROM product_images WHERE product_id = ANY($1) ORDER BY product_id, image_order`, products)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out, unpublished := map[uuid.UUID][]string{}, 0
	for rows.Next() {
		var p uuid.UUID
		var src string
		var pending bool
		if err := rows.Scan(&p, &src, &pending); err != nil {
			t.Fatal(err)
		}
		out[p] = append(out[p], src)
		if pending {
			unpublished++
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out, unpublished
}

// createProducts creates n products as the supplier of token.
func createProducts(t *testing.T, base, token string, n int) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for range n {
		var p struct{ ID uuid.UUID }
		if resp := call(t, "POST", base+"/v1/products", token, map[string]any{}, &p); resp.StatusCode != http.StatusCreated {
			t.Fatalf("creating a product: %d", resp.StatusCode)
		}
		ids = append(ids, p.ID)
	}
	return ids
}

// TestBulkImportSurvivesKillAndResend imports a feed of 1,000 lines (3 of them bad: bad JSON,
// no source_url, an unknown product) of real photographs from a local HTTP server into ten
// products, through a `vitrine serve` child process that is SIGKILLed midway and started
// again, after which the same feed is sent again, as a supplier would after a crash. Both
// imports end with the 997 good lines imported exactly once each, every gallery in the
// feed's order, and the 3 bad lines reported with their numbers.
func TestBulkImportSurvivesKillAndResend(t *testing.T) {
	owner := pgtest.NewDB(t)
	src := startPhotoSource(t, "127.0.0.1", smallPhotos(t, 4), 0)
	srv := startChildProcess(t, "serve", map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner, "VITRINE_DATA_DIR": t.TempDir(),
		"VITRINE_ADDR": freeAddr(t), "VITRINE_JWT_SECRET": tenantSecret, "VITRINE_WORKERS": "2",
		"VITRINE_IMPORT_ALLOW_HOSTS": src.hostPort, "VITRINE_JOB_RESCUE_AFTER": "10s", "VITRINE_JOB_RETRY_BASE": "1s",
		"VITRINE_WRITES_PER_MINUTE": "0", "VITRINE_UPLOADS_PER_MINUTE": "0", "VITRINE_LOG_LEVEL": "info",
	})
	token := supplierToken(t, uuid.New())
	products := createProducts(t, srv.base, token, 10)

	bad := map[int]string{
		137: `{"product_id": "` + products[0].String() + `", "source_url": "` + src.URL + `/p/137"`, // cut short
		500: `{"product_id": "` + products[1].String() + `", "alt": "no source"}`,
		863: `{"product_id": "` + uuid.NewString() + `", "source_url": "` + src.URL + `/p/863"}`,
	}
	var feed bytes.Buffer
	want := map[uuid.UUID][]string{}
	for line := 1; line <= 1000; line++ {
		if b, ok := bad[line]; ok {
			feed.WriteString(b + "\n")
			continue
		}
		p := products[line%len(products)]
		url := fmt.Sprintf("%s/p/%d", src.URL, line)
		fmt.Fprintf(&feed, `{"product_id": %q, "source_url": %q, "alt": "line %d"}`+"\n", p, url, line)
		want[p] = append(want[p], url)
	}

	first := postFeed(t, srv.base, token, feed.Bytes())
	if first.Lines != 1000 {
		t.Fatalf("the import has %d lines, want 1000", first.Lines)
	}
	midway := waitBulkImport(t, srv.base, token, first.ID, 5*time.Minute, func(b bulkImportBody) bool { return b.Done >= 150 })
	srv.kill(t)
	t.Logf("SIGKILLed the server midway: %d done, %d failed, %d queued", midway.Done, midway.Failed, midway.Queued)
	if midway.Done >= 997 {
		t.Fatal("the import was over before the kill")
	}
	srv.start(t)
	second := postFeed(t, srv.base, token, feed.Bytes())

	for _, id := range []uuid.UUID{second.ID, first.ID} {
		b := waitBulkImport(t, srv.base, token, id, 10*time.Minute, finished)
		t.Logf("import %s: %d lines, %d done, %d failed, %d queued", id, b.Lines, b.Done, b.Failed, b.Queued)
		if b.Lines != 1000 || b.Done != 997 || b.Failed != 3 || b.Queued != 0 {
			t.Errorf("import %s: %+v", id, b)
		}
		var lines []int
		for _, f := range b.Failures {
			lines = append(lines, f.Line)
			t.Logf("  line %d: %s: %s", f.Line, f.Code, f.Message)
		}
		if !slices.Equal(lines, []int{137, 500, 863}) {
			t.Errorf("import %s failed lines %v, want [137 500 863]", id, lines)
		}
	}
	pool, err := pgxpool.New(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	got, unpublished := gallerySources(t, pool, products)
	if unpublished != 0 {
		t.Errorf("%d images are not published", unpublished)
	}
	for _, p := range products {
		if !slices.Equal(got[p], want[p]) {
			t.Errorf("product %s: %d images, want %d, in the feed's order:\ngot  %v\nwant %v", p, len(got[p]), len(want[p]), got[p], want[p])
		}
	}
	t.Logf("the source served %d requests for 997 images", src.served.Load())
}

// TestImportCommandCSV runs `vitrine import` on a CSV file against a server: products named
// by external references are created, each gallery is in the feed's order (positions as the
// file gives them), a bad line is reported with its line number in the file, and the
// command fails saying how many lines failed. Sending the file again imports nothing twice.
// -detach prints the import's id without waiting.
func TestImportCommandCSV(t *testing.T) {
	t.Parallel()
	src := startPhotoSource(t, "127.0.0.1", smallPhotos(t, 3), 0)
	s := startServe(t, map[string]string{"VITRINE_JWT_SECRET": tenantSecret, "VITRINE_IMPORT_ALLOW_HOSTS": src.hostPort,
		"VITRINE_WRITES_PER_MINUTE": "0"})
	supplier := uuid.New()
	token := supplierToken(t, supplier)
	csvText := "external_ref,source_url,alt,position\n" +
		"SKU-A," + src.URL + "/p/1,\"front, \"\"best\"\"\",\n" + // line 2
		"SKU-A," + src.URL + "/p/2,\"side\nview\",\n" + // lines 3-4: a quoted field over two lines
		"SKU-B," + src.URL + "/p/3,back,1\n" + // line 5
		"SKU-B,ftp://" + src.hostPort + "/p/4,bad,\n" + // line 6: refused
		"SKU-B," + src.URL + "/p/5,front,0\n" + // line 7
		"SKU-A," + src.URL + "/p/6,top,\n" // line 8
	path := filepath.Join(t.TempDir(), "feed.csv")
	if err := os.WriteFile(path, []byte(csvText), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"import", "-url", s.base, "-token", token, "-poll", "100ms", path}, env(nil), &stdout, &stderr)
	t.Logf("vitrine import: %v\n%s%s", err, stdout.String(), stderr.String())
	if err == nil || !strings.Contains(err.Error(), "1 of 6 lines failed") {
		t.Fatalf("vitrine import ended with %v, want 1 of 6 lines failed", err)
	}
	if !strings.Contains(stdout.String(), "5 done, 1 failed") || !strings.Contains(stdout.String(), "line 6: invalid: source_url") {
		t.Errorf("the summary does not report the import:\n%s", stdout.String())
	}

	var page struct {
		Products []struct {
			ID          uuid.UUID `json:"id"`
			ExternalRef *string   `json:"external_ref"`
			ImageCount  int       `json:"image_count"`
		} `json:"products"`
	}
	call(t, "GET", s.base+"/v1/products", token, nil, &page)
	byRef := map[string]uuid.UUID{}
	for _, p := range page.Products {
		if p.ExternalRef != nil {
			byRef[*p.ExternalRef] = p.ID
		}
	}
	if len(page.Products) != 2 || byRef["SKU-A"] == uuid.Nil || byRef["SKU-B"] == uuid.Nil {
		t.Fatalf("products after the import: %+v", page.Products)
	}
	gallery := func(ref string) (alts, sources []string) {
		var g struct {
			Images []struct {
				Alt, Status string
				SourceURL   string `json:"source_url"`
			} `json:"images"`
		}
		call(t, "GET", s.base+"/v1/products/"+byRef[ref].String()+"/images", token, nil, &g)
		for _, im := range g.Images {
			alts, sources = append(alts, im.Alt), append(sources, im.SourceURL)
		}
		return alts, sources
	}
	if alts, _ := gallery("SKU-A"); !slices.Equal(alts, []string{`front, "best"`, "side\nview", "top"}) {
		t.Errorf("SKU-A's gallery: %q", alts)
	}
	if alts, _ := gallery("SKU-B"); !slices.Equal(alts, []string{"front", "back"}) {
		t.Errorf("SKU-B's gallery: %q (position 0 first)", alts)
	}

	// Again, detached: the same product and source URL are imported once.
	stdout.Reset()
	if err := run(context.Background(), []string{"import", "-url", s.base, "-token", token, "-detach", path}, env(nil), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	id, err := uuid.Parse(strings.TrimSpace(stdout.String()))
	if err != nil {
		t.Fatalf("-detach printed %q, not an import id", stdout.String())
	}
	b := waitBulkImport(t, s.base, token, id, 2*time.Minute, finished)
	if b.Done != 5 || b.Failed != 1 {
		t.Errorf("the second import: %+v", b)
	}
	if _, sources := gallery("SKU-A"); len(sources) != 3 {
		t.Errorf("SKU-A has %d images after the feed was sent twice, want 3", len(sources))
	}
	// Another supplier cannot see the import.
	if _, status, _ := readBulkImport(s.base, supplierToken(t, uuid.New()), id); status != http.StatusNotFound {
		t.Errorf("another supplier's GET /v1/imports/%s: %d, want 404", id, status)
	}
}

// TestBulkImportDoesNotStarveOthers runs a large import from a slow host (each photograph
// takes 40 s to arrive) on a server with 4 import workers, and, while it runs, a second
// supplier's import of one line from another host: the second finishes before the first
// has fetched a single image, since the first never has more than its
// VITRINE_IMPORT_IN_FLIGHT (2) images being fetched at once (it does not enqueue a fetch job
// per line, which would hold every worker).
func TestBulkImportDoesNotStarveOthers(t *testing.T) {
	t.Parallel()
	photos := smallPhotos(t, 2)
	slow := startPhotoSource(t, "127.0.0.1", photos, 40*time.Second) // well under the import timeout (60s), far over the small import
	fast := startPhotoSource(t, "127.0.0.2", photos, 0)
	const inFlight = 2
	owner := pgtest.NewDB(t)
	s := startServe(t, map[string]string{"VITRINE_JWT_SECRET": tenantSecret, "VITRINE_WORKERS": "2",
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner,
		"VITRINE_IMPORT_ALLOW_HOSTS": slow.hostPort + "," + fast.hostPort, "VITRINE_WRITES_PER_MINUTE": "0",
		"VITRINE_IMPORT_IN_FLIGHT": strconv.Itoa(inFlight), "VITRINE_IMPORT_WORKERS": "4", "VITRINE_IMPORT_PER_HOST": "4",
		"VITRINE_SHUTDOWN_TIMEOUT": "1s"})
	bigToken, smallToken := supplierToken(t, uuid.New()), supplierToken(t, uuid.New())
	var feed bytes.Buffer
	for line := 1; line <= 200; line++ {
		fmt.Fprintf(&feed, `{"external_ref": "big", "source_url": "%s/p/%d"}`+"\n", slow.URL, line)
	}
	big := postFeed(t, s.base, bigToken, feed.Bytes())
	waitBulkImport(t, s.base, bigToken, big.ID, time.Minute, func(b bulkImportBody) bool { return slow.served.Load() > 0 })

	pool, err := pgxpool.New(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	peak := 0
	start := time.Now()
	small := postFeed(t, s.base, smallToken, []byte(`{"external_ref": "small", "source_url": "`+fast.URL+`/p/1"}`))
	for {
		b, _, _ := readBulkImport(s.base, smallToken, small.ID)
		var jobs int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job
			WHERE kind <> 'bulk_import' AND state IN ('available', 'running', 'retryable', 'scheduled', 'pending')
			  AND args->>'source_url' LIKE $1 || '%'`, slow.URL).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, jobs)
		if finished(b) {
			break
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("the small import did not finish in 2 minutes beside the big one: %+v", b)
		}
		if big, _, _ := readBulkImport(s.base, bigToken, big.ID); big.Done > 0 {
			t.Fatalf("the big import fetched an image before the small import finished: %+v", big)
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	bigNow, _, _ := readBulkImport(s.base, bigToken, big.ID)
	t.Logf("the small import finished in %s; the big one then: %d done, %d queued; at most %d of its fetch jobs at once",
		took.Round(time.Millisecond), bigNow.Done, bigNow.Queued, peak)
	if bigNow.Done > 0 || bigNow.Queued < 190 {
		t.Errorf("the big import is under way (%+v): the test did not run them side by side", bigNow)
	}
	if peak > inFlight {
		t.Errorf("the big import had %d fetch jobs at once, more than its %d in flight", peak, inFlight)
	}
	if peak == 0 {
		t.Error("no fetch job of the big import was seen")
	}
}

// TestBulkImportLinesFollowTheirImages checks that an import's lines keep the outcome of
// their images, whoever changes them: a fetch that fails (the source answers 404) is a failed
// line with the image's error code and message; once the source is fixed and the image retried
// (POST /v1/images/{id}/retry), after the import has finished, the line is done, and the
// import's counts and failures say so.
func TestBulkImportLinesFollowTheirImages(t *testing.T) {
	owner := pgtest.NewDB(t)
	photos := smallPhotos(t, 2)
	var fixed atomic.Bool
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/broken/") && !fixed.Load() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(photos[len(r.URL.Path)%len(photos)])
	}))
	defer src.Close()
	srv := startChildProcess(t, "serve", map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner, "VITRINE_DATA_DIR": t.TempDir(),
		"VITRINE_ADDR": freeAddr(t), "VITRINE_JWT_SECRET": tenantSecret, "VITRINE_WORKERS": "2",
		"VITRINE_IMPORT_ALLOW_HOSTS": strings.TrimPrefix(src.URL, "http://"),
		"VITRINE_WRITES_PER_MINUTE":  "0", "VITRINE_UPLOADS_PER_MINUTE": "0",
	})
	token := supplierToken(t, uuid.New())
	product := createProducts(t, srv.base, token, 1)[0]
	feed := fmt.Sprintf(`{"product_id": %q, "source_url": "%s/p/1"}
{"product_id": %q, "source_url": "%s/broken/2"}
{"product_id": %q, "source_url": "%s/p/3"}
`, product, src.URL, product, src.URL, product, src.URL)
	imp := postFeed(t, srv.base, token, []byte(feed))
	b := waitBulkImport(t, srv.base, token, imp.ID, 5*time.Minute, finished)
	if b.Done != 2 || b.Failed != 1 || b.Queued != 0 || len(b.Failures) != 1 || b.Failures[0].Line != 2 ||
		b.Failures[0].Code != "source_status" || !strings.Contains(b.Failures[0].Message, "404") {
		t.Fatalf("import with a source answering 404: %+v", b)
	}

	pool, err := pgxpool.New(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var image uuid.UUID
	if err := pool.QueryRow(context.Background(), `SELECT id FROM product_images WHERE source_url = $1`, src.URL+"/broken/2").Scan(&image); err != nil {
		t.Fatal(err)
	}
	fixed.Store(true)
	if resp := send(t, "POST", srv.base+"/v1/images/"+image.String()+"/retry", token, nil, "", nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("retry: %d", resp.StatusCode)
	}
	b = waitBulkImport(t, srv.base, token, imp.ID, 5*time.Minute, func(b bulkImportBody) bool { return b.Done == 3 })
	if b.Failed != 0 || b.Queued != 0 || len(b.Failures) != 0 || b.FinishedAt == nil {
		t.Errorf("the import after its failed image was retried and published: %+v", b)
	}
}
