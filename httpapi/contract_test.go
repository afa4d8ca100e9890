package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/httpapi"
	"github.com/vitrine-dev/vitrine/reconcile"
	"github.com/vitrine-dev/vitrine/storage"
)

func init() {
	// Object bodies are bytes: check their presence and type, not a schema.
	for _, ct := range []string{"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "multipart/byteranges", "text/html", "text/javascript", "text/event-stream"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
	// A bulk import's feed is text, one JSON object a line, each checked by the server.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
}

// headersWithMeaning are the response headers a client acts on; one that a response carries
// must be documented on that response.
var headersWithMeaning = []string{"Retry-After", "WWW-Authenticate", "ETag", "Cache-Control", "Location", "Content-Range", "Allow"}

// coverage records, for each operationId, the statuses seen; "" holds the exchanges that no
// operation matched (405 and 404 for paths and methods the document does not have).
type coverage struct {
	mu   sync.Mutex
	seen map[string]map[int]bool
}

func (c *coverage) add(op string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[op] == nil {
		c.seen[op] = map[int]bool{}
	}
	c.seen[op][status] = true
}

// contract sends requests to one running API and checks every exchange against the document
// the API serves, with kin-openapi's router and openapi3filter.
type contract struct {
	base   string
	doc    *openapi3.T
	router routers.Router
	cov    *coverage
}

func newContract(t *testing.T, b *bundle, cov *coverage) *contract {
	t.Helper()
	doc := servedDocument(t, b.url)
	// The document's server is relative ("/"): the router matches it at this test server.
	doc.Servers = openapi3.Servers{{URL: b.url}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{base: b.url, doc: doc, router: router, cov: cov}
}

// req describes one request of a test.
type req struct {
	method, path, token string
	body                []byte
	contentType         string
	header              []string // name, value, ...
	// invalid marks a request that breaks the document on purpose (a bad body, a malformed
	// id): only its response is checked.
	invalid bool
}

// send sends r and checks the exchange; it returns the status, headers and body.
func (c *contract) send(t *testing.T, r req) (int, http.Header, []byte) {
	t.Helper()
	hr := c.request(t, r, bytes.NewReader(r.body))
	res, err := http.DefaultTransport.RoundTrip(hr) // redirects are answers to check, not to follow
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", r.method, r.path, err)
	}
	c.check(t, r, res, data)
	return res.StatusCode, res.Header, data
}

func (c *contract) request(t *testing.T, r req, body io.Reader) *http.Request {
	t.Helper()
	hr, err := http.NewRequest(r.method, c.base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	for i := 0; i+1 < len(r.header); i += 2 {
		hr.Header.Set(r.header[i], r.header[i+1])
	}
	return hr
}

// check validates one exchange against the document: the request (unless r.invalid), the
// status, the headers and the body of the response. An exchange that no operation matches
// must be the 404 or 405 the document's description promises.
func (c *contract) check(t *testing.T, r req, res *http.Response, data []byte) {
	t.Helper()
	where := fmt.Sprintf("%s %s → %d", r.method, r.path, res.StatusCode)
	vr := c.request(t, r, bytes.NewReader(r.body))
	route, params, err := c.router.FindRoute(vr)
	if err != nil {
		want, code := http.StatusNotFound, "not_found"
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			want, code = http.StatusMethodNotAllowed, "method_not_allowed"
			if res.Header.Get("Allow") == "" {
				t.Errorf("%s: no Allow header", where)
			}
		}
		if res.StatusCode != want {
			t.Errorf("%s: the document has no such operation (%v), so %d is expected", where, err, want)
		}
		c.checkError(t, where, data, code)
		c.cov.add("", res.StatusCode)
		return
	}
	noAuth := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: noAuth}
	if !r.invalid {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s: the test's request does not follow the document: %v", where, err)
		}
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(data)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			ExcludeResponseBody: r.method == http.MethodHead},
	})
	if err != nil {
		t.Errorf("%s: the answer does not follow the document: %v\n%.300s", where, err, data)
	}
	resp := route.Operation.Responses.Status(res.StatusCode)
	if resp != nil && resp.Value != nil {
		for _, h := range headersWithMeaning {
			if res.Header.Get(h) == "" {
				continue
			}
			documented := false
			for name := range resp.Value.Headers {
				documented = documented || http.CanonicalHeaderKey(name) == http.CanonicalHeaderKey(h)
			}
			if !documented {
				t.Errorf("%s: header %s: %q is not documented on this response", where, h, res.Header.Get(h))
			}
		}
	}
	if res.StatusCode >= 400 && r.method != http.MethodHead && resp != nil && resp.Value != nil && resp.Value.Content.Get("application/json") != nil {
		c.checkError(t, where, data, "")
	}
	c.cov.add(route.Operation.OperationID, res.StatusCode)
}

// checkError checks that data is an error body of the document's Error schema, with code when
// code is not "".
func (c *contract) checkError(t *testing.T, where string, data []byte, code string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Errorf("%s: the error body is not JSON: %q", where, data)
		return
	}
	if err := c.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("%s: the error body does not follow the Error schema: %v", where, err)
	}
	var e apiError
	_ = json.Unmarshal(data, &e)
	if code != "" && e.Error.Code != code {
		t.Errorf("%s: error code %q, want %q", where, e.Error.Code, code)
	}
}

// expect fails the test unless the status is one of want.
func expect(t *testing.T, what string, got int, want ...int) {
	t.Helper()
	if !slices.Contains(want, got) {
		t.Fatalf("%s: status %d, want %v", what, got, want)
	}
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func form(t *testing.T, fields ...[2]string) ([]byte, string) {
	t.Helper()
	body, ct := multipartBody(t, fields...)
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return data, ct
}

// TestContract runs the success and error paths of every route through real servers
// (PostgreSQL, a store on disk or on a real S3 server, real images) and checks each exchange
// against the served OpenAPI document: a status, a header or a body the document does not
// describe fails. At the end every operation must have been seen succeeding and refusing an
// invalid token, and every documented kind of refusal must have happened.
func TestContract(t *testing.T) {
	t.Parallel()
	cov := &coverage{seen: map[string]map[int]bool{}}
	var ops []string
	t.Run("local", func(t *testing.T) { ops = contractLocal(t, cov) })
	t.Run("bucket", func(t *testing.T) { contractBucket(t, cov) })
	t.Run("limits", func(t *testing.T) { contractLimits(t, cov) })
	if t.Failed() {
		return
	}
	all := map[int]bool{}
	for _, statuses := range cov.seen {
		for st := range statuses {
			all[st] = true
		}
	}
	for _, op := range ops {
		ok := false
		for st := range cov.seen[op] {
			ok = ok || st < 400
		}
		if !ok {
			t.Errorf("%s never answered a success: %v", op, cov.seen[op])
		}
		if !cov.seen[op][401] {
			t.Errorf("%s never answered 401", op)
		}
	}
	for _, st := range []int{200, 201, 204, 206, 302, 304, 400, 401, 403, 404, 405, 406, 409, 413, 415, 416, 422, 429, 431, 501, 503} {
		if !all[st] {
			t.Errorf("no exchange answered %d", st)
		}
	}
}

// contractLocal is the supplier's whole flow on a store on disk, with its refusals; it returns
// the operationIds of the document.
func contractLocal(t *testing.T, cov *coverage) []string {
	b := setup(t, func(o *options) { o.jobs = true })
	c := newContract(t, b, cov)
	service := b.token
	supplier := uuid.New()
	as, other := tokenFor(t, gallery.Supplier(supplier)), tokenFor(t, gallery.Supplier(uuid.New()))

	// The service routes.
	c.send(t, req{method: "GET", path: "/", header: []string{"Accept", "text/html"}})
	_, _, home := c.send(t, req{method: "GET", path: "/", header: []string{"Accept", "application/json"}})
	if !strings.Contains(string(home), `"/docs"`) {
		t.Errorf("GET / as JSON: %s", home)
	}
	for _, p := range []string{"/openapi.json", "/docs", httpapi.RedocPath, "/healthz", "/readyz", "/ui/vitrine-gallery.js"} {
		st, _, _ := c.send(t, req{method: "GET", path: p})
		expect(t, p, st, 200)
	}

	// Products.
	productID := uuid.New()
	st, h, _ := c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"id": productID})})
	expect(t, "create", st, 201)
	if h.Get("Location") != "/v1/products/"+productID.String() {
		t.Errorf("Location %q", h.Get("Location"))
	}
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"id": productID})})
	expect(t, "create again", st, 409)
	st, h, _ = c.send(t, req{method: "POST", path: "/v1/products", contentType: "application/json", body: []byte(`{}`)})
	expect(t, "create anonymously", st, 401)
	if h.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
	}
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"supplier_id": uuid.New()})})
	expect(t, "create for another supplier", st, 403)
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json",
		body: []byte(`{"published": "yes"}`), invalid: true})
	expect(t, "create with a bad body", st, 400)
	big := []byte(`{"published": false, "padding": "` + strings.Repeat("x", 1<<20) + `"}`)
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json", body: big, invalid: true})
	expect(t, "create with a body over 1 MiB", st, 413)
	pp := "/v1/products/" + productID.String()
	st, _, _ = c.send(t, req{method: "GET", path: pp, token: as})
	expect(t, "read", st, 200)
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/products/" + uuid.NewString(), token: as})
	expect(t, "read another id", st, 404)
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/products/not-an-id", token: as, invalid: true})
	expect(t, "read a malformed id", st, 404)
	st, _, _ = c.send(t, req{method: "PATCH", path: pp, token: as, contentType: "application/json", body: []byte(`{}`), invalid: true})
	expect(t, "patch with nothing", st, 400)
	st, _, _ = c.send(t, req{method: "PATCH", path: pp, token: as, contentType: "application/json", body: []byte(`{"published": true}`)})
	expect(t, "publish", st, 200)
	st, _, _ = c.send(t, req{method: "PATCH", path: pp, token: other, contentType: "application/json", body: []byte(`{"published": false}`)})
	expect(t, "withdraw another's published product", st, 403)
	st, _, data := c.send(t, req{method: "PATCH", path: pp, token: as, contentType: "application/json", body: []byte(`{"title": "Red shoe"}`)})
	expect(t, "rename", st, 200)
	if !strings.Contains(string(data), `"title": "Red shoe"`) || !strings.Contains(string(data), `"published": true`) {
		t.Errorf("renamed: %s", data)
	}
	st, _, _ = c.send(t, req{method: "PATCH", path: pp, token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"title": strings.Repeat("x", gallery.MaxTitleLength+1)}), invalid: true})
	expect(t, "rename with a title too long", st, 400)
	st, _, data = c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json",
		body: []byte(`{"title": "Blue hat"}`)})
	expect(t, "create with a title", st, 201)
	if !strings.Contains(string(data), `"title": "Blue hat"`) {
		t.Errorf("created: %s", data)
	}
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"title": strings.Repeat("x", gallery.MaxTitleLength+1)}), invalid: true})
	expect(t, "create with a title too long", st, 400)
	st, _, data = c.send(t, req{method: "GET", path: "/v1/products?limit=1", token: as})
	expect(t, "list", st, 200)
	var page struct {
		Products []struct {
			Title string `json:"title"`
		} `json:"products"`
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.Unmarshal(data, &page); err != nil || len(page.Products) != 1 || page.Products[0].Title != "Blue hat" || page.NextCursor == nil {
		t.Fatalf("first page of one: %s", data)
	}
	st, _, data = c.send(t, req{method: "GET", path: "/v1/products?limit=1&cursor=" + *page.NextCursor, token: as})
	expect(t, "list the next page", st, 200)
	if err := json.Unmarshal(data, &page); err != nil || len(page.Products) != 1 || page.Products[0].Title != "Red shoe" || page.NextCursor != nil {
		t.Fatalf("second and last page: %s", data)
	}
	st, _, data = c.send(t, req{method: "GET", path: "/v1/products?q=RED", token: as})
	expect(t, "search", st, 200)
	if err := json.Unmarshal(data, &page); err != nil || len(page.Products) != 1 || page.Products[0].Title != "Red shoe" {
		t.Fatalf("search for RED: %s", data)
	}
	st, _, data = c.send(t, req{method: "GET", path: "/v1/products"})
	expect(t, "list anonymously", st, 200)
	if err := json.Unmarshal(data, &page); err != nil || len(page.Products) != 1 || page.Products[0].Title != "Red shoe" {
		t.Fatalf("anonymous list (the published product only): %s", data)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=ten", "cursor=not-a-cursor"} {
		st, _, _ = c.send(t, req{method: "GET", path: "/v1/products?" + q, token: as, invalid: true})
		expect(t, "list with "+q, st, 400)
	}

	// Uploads through the API, with real images.
	images := validImages(t)
	var ids []uuid.UUID
	var firstURL string
	for _, name := range []string{"encoded.png", "video-001.jpeg", "video-001.gif"} {
		body, ct := form(t, [2]string{"alt", "alt of " + name}, [2]string{"file", string(images[name])})
		st, h, data := c.send(t, req{method: "POST", path: pp + "/images", token: as, contentType: ct, body: body})
		expect(t, "upload "+name, st, 201)
		var im imageBody
		if err := json.Unmarshal(data, &im); err != nil {
			t.Fatal(err)
		}
		if h.Get("Location") != "/v1/images/"+im.ID.String() {
			t.Errorf("Location %q", h.Get("Location"))
		}
		ids = append(ids, im.ID)
		if firstURL == "" {
			firstURL = im.URL
		}
	}
	refused := map[string]struct {
		data   []byte
		status int
	}{
		"text":            {[]byte("these are words, not pixels"), 415},
		"corrupt":         {corruptPNGSuite(t)[sortedKeys(corruptPNGSuite(t))[0]], 422},
		"too many pixels": {pngWith(100_000, 100_000, deflated(64)), 422},
	}
	for name, r := range refused {
		body, ct := form(t, [2]string{"file", string(r.data)})
		st, _, _ := c.send(t, req{method: "POST", path: pp + "/images", token: as, contentType: ct, body: body})
		expect(t, "upload "+name, st, r.status)
	}
	body, ct := form(t, [2]string{"alt", "no file"})
	st, _, _ = c.send(t, req{method: "POST", path: pp + "/images", token: as, contentType: ct, body: body, invalid: true})
	expect(t, "upload without a file", st, 400)
	body, ct = form(t, [2]string{"file", string(images["encoded.png"])})
	st, _, _ = c.send(t, req{method: "POST", path: pp + "/images", token: other, contentType: ct, body: body})
	expect(t, "upload to another's product", st, 403, 404)

	// The gallery.
	st, _, _ = c.send(t, req{method: "GET", path: pp + "/images", token: as})
	expect(t, "list", st, 200)
	st, _, _ = c.send(t, req{method: "GET", path: pp + "/images"})
	expect(t, "list a published gallery anonymously", st, 200)
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/products/" + uuid.NewString() + "/images"})
	expect(t, "list another id", st, 404)
	ip := "/v1/images/" + ids[0].String()
	st, _, _ = c.send(t, req{method: "GET", path: ip, token: as})
	expect(t, "read an image", st, 200)
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/images/" + uuid.NewString(), token: as})
	expect(t, "read another image", st, 404)
	st, _, _ = c.send(t, req{method: "PATCH", path: ip, token: as, contentType: "application/json", body: []byte(`{"alt": "a red shoe"}`)})
	expect(t, "alt", st, 200)
	st, _, _ = c.send(t, req{method: "PATCH", path: ip, token: as, contentType: "application/json", body: []byte(`{"alt": 5}`), invalid: true})
	expect(t, "alt that is no text", st, 400)
	st, _, _ = c.send(t, req{method: "PATCH", path: ip, token: other, contentType: "application/json", body: []byte(`{"alt": "mine"}`)})
	expect(t, "alt of another's published image", st, 403)
	st, _, _ = c.send(t, req{method: "POST", path: ip + "/position", token: as, contentType: "application/json", body: []byte(`{"position": 2}`)})
	expect(t, "move", st, 200)
	st, _, _ = c.send(t, req{method: "POST", path: ip + "/position", token: as, contentType: "application/json", body: []byte(`{"position": 99}`)})
	expect(t, "move past the end", st, 400)
	order := jsonBody(t, map[string]any{"ids": []uuid.UUID{ids[2], ids[1], ids[0]}})
	st, _, _ = c.send(t, req{method: "PUT", path: pp + "/images/order", token: as, contentType: "application/json", body: order})
	expect(t, "reorder", st, 200)
	st, _, _ = c.send(t, req{method: "PUT", path: pp + "/images/order", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"ids": []uuid.UUID{ids[0]}})})
	expect(t, "reorder with ids missing", st, 400, 409)

	// Retries of thumbnails. The main image's job is queued (this server works no jobs):
	// nothing to retry. Once it has given up, a retry enqueues a new one. The failure itself
	// is made for real, by a worker, in cmd/vitrine's TestRetryFailedThumbnails.
	ctx := context.Background()
	rp := "/v1/images/" + ids[2].String() + "/retry"
	st, _, _ = c.send(t, req{method: "POST", path: rp, token: as})
	expect(t, "retry a pending job", st, 409)
	if _, err := b.db.Pool().Exec(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now()
		WHERE kind = 'thumbnail' AND args->>'image_id' = $1`, ids[2].String()); err != nil {
		t.Fatal(err)
	}
	st, _, _ = c.send(t, req{method: "POST", path: rp, token: other})
	expect(t, "retry another's published image", st, 403)
	if err := b.db.PauseWrites(ctx, "contract test", time.Minute, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	st, h, _ = c.send(t, req{method: "POST", path: rp, token: as})
	if err := b.db.ResumeWrites(ctx); err != nil {
		t.Fatal(err)
	}
	expect(t, "retry while writes are paused", st, 503)
	if h.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	st, _, data = c.send(t, req{method: "POST", path: rp, token: as})
	expect(t, "retry a failed job", st, 202)
	if !strings.Contains(string(data), `"status": "pending"`) {
		t.Errorf("retried: %s", data)
	}
	st, _, _ = c.send(t, req{method: "POST", path: rp, token: as})
	expect(t, "retry again", st, 409)
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/images/" + uuid.NewString() + "/retry", token: as})
	expect(t, "retry an unknown image", st, 404)

	// Imports by URL, into a product of their own. This server works no jobs: the image stays
	// importing until its failure is recorded by hand; cmd/vitrine's TestImportFailures
	// makes every failure for real.
	importPath := "/v1/products/" + uuid.NewString()
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"id": strings.TrimPrefix(importPath, "/v1/products/")})})
	expect(t, "create the import's product", st, 201)
	imp := jsonBody(t, map[string]any{"source_url": "https://example.com/chair.jpg", "alt": "chair", "position": 0})
	st, _, data = c.send(t, req{method: "POST", path: importPath + "/images", token: as, contentType: "application/json", body: imp})
	expect(t, "import", st, 202)
	var imported struct{ ID uuid.UUID }
	if err := json.Unmarshal(data, &imported); err != nil || !strings.Contains(string(data), `"status": "importing"`) {
		t.Fatalf("import: %v %s", err, data)
	}
	st, _, _ = c.send(t, req{method: "POST", path: importPath + "/images", token: as, contentType: "application/json", body: imp})
	expect(t, "import again", st, 200)
	st, _, _ = c.send(t, req{method: "POST", path: importPath + "/images", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"source_url": "ftp://example.com/chair.jpg"})})
	expect(t, "import from ftp", st, 400)
	st, _, _ = c.send(t, req{method: "POST", path: importPath + "/images", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"source_url": "https://example.com/other.jpg", "position": 5})})
	expect(t, "import past the end", st, 400)
	st, _, _ = c.send(t, req{method: "POST", path: importPath + "/images", contentType: "application/json", body: imp})
	expect(t, "import without a token", st, 401)
	if _, err := b.db.Pool().Exec(ctx, `UPDATE product_images SET import_status = 'failed',
		import_error_code = 'source_status', import_error = 'the source answered 404 Not Found' WHERE id = $1`, imported.ID); err != nil {
		t.Fatal(err)
	}
	st, _, data = c.send(t, req{method: "GET", path: "/v1/images/" + imported.ID.String(), token: as})
	expect(t, "a failed import", st, 200)
	if !strings.Contains(string(data), `"error_code": "source_status"`) {
		t.Errorf("a failed import: %s", data)
	}
	st, _, data = c.send(t, req{method: "POST", path: "/v1/images/" + imported.ID.String() + "/retry", token: as})
	expect(t, "retry a failed import", st, 202)
	if !strings.Contains(string(data), `"status": "importing"`) {
		t.Errorf("retried import: %s", data)
	}

	// The main image's URL: not made yet (its job is pending), then made as the job records it.
	mp := pp + "/main/mobile"
	st, h, _ = c.send(t, req{method: "GET", path: mp, header: []string{"Accept", "image/webp"}})
	expect(t, "main image not made yet", st, 404)
	if h.Get("Retry-After") == "" {
		t.Error("variant_not_ready without Retry-After")
	}
	main, err := b.db.Image(gallery.WithCaller(ctx, gallery.Service()), ids[2])
	if err != nil {
		t.Fatal(err)
	}
	b.recordVariants(t, imageBody{ID: main.ID, SHA256: main.SHA256}, "webp", "jpeg")
	st, h, _ = c.send(t, req{method: "GET", path: mp, header: []string{"Accept", "image/avif,image/webp,*/*;q=0.8"}})
	expect(t, "main image", st, 302)
	if !strings.HasSuffix(h.Get("Location"), "-mobile.webp") {
		t.Errorf("main image at %q, want its webp", h.Get("Location"))
	}
	st, _, _ = c.send(t, req{method: "GET", path: mp, header: []string{"Accept", "image/png"}})
	expect(t, "main image in no format accepted", st, 406)
	st, _, _ = c.send(t, req{method: "GET", path: pp + "/main/poster"})
	expect(t, "main image in an unknown preset", st, 404)

	// Writes paused for maintenance.
	if err := b.db.PauseWrites(ctx, "contract test", time.Minute, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	st, h, _ = c.send(t, req{method: "PATCH", path: ip, token: as, contentType: "application/json", body: []byte(`{"alt": "paused"}`)})
	if err := b.db.ResumeWrites(ctx); err != nil {
		t.Fatal(err)
	}
	expect(t, "alt while writes are paused", st, 503)
	if h.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}

	// Objects.
	op := strings.TrimPrefix(firstURL, b.url)
	st, h, _ = c.send(t, req{method: "GET", path: op})
	expect(t, "object", st, 200)
	etag := h.Get("ETag")
	st, _, _ = c.send(t, req{method: "HEAD", path: op})
	expect(t, "object HEAD", st, 200)
	st, _, _ = c.send(t, req{method: "GET", path: op, header: []string{"Range", "bytes=0-9"}})
	expect(t, "object range", st, 206)
	st, h, _ = c.send(t, req{method: "GET", path: op, header: []string{"Range", "bytes=0-1,5-6"}})
	expect(t, "object ranges", st, 206)
	if !strings.HasPrefix(h.Get("Content-Type"), "multipart/byteranges") {
		t.Errorf("two ranges as %q", h.Get("Content-Type"))
	}
	st, _, _ = c.send(t, req{method: "GET", path: op, header: []string{"If-None-Match", etag}})
	expect(t, "object not modified", st, 304)
	st, _, _ = c.send(t, req{method: "GET", path: op, header: []string{"Range", "bytes=99999999-"}})
	expect(t, "object range past the end", st, 416)
	// A thumbnail as the thumbnail job stores one (this server runs no jobs).
	thumb := encode(t, "png", noisy(32, 24))
	sum := sha256.Sum256(thumb)
	vkey := storage.ContentKey("variants", sum[:], "png")
	w, err := b.store.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(thumb); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, vkey); err != nil {
		t.Fatal(err)
	}
	st, h, got := c.send(t, req{method: "GET", path: "/objects/" + vkey})
	expect(t, "variant", st, 200)
	if !bytes.Equal(got, thumb) || h.Get("Content-Type") != "image/png" {
		t.Errorf("variant: %d bytes of %q", len(got), h.Get("Content-Type"))
	}
	st, _, _ = c.send(t, req{method: "HEAD", path: "/objects/" + vkey})
	expect(t, "variant HEAD", st, 200)
	missing := "/" + strings.Repeat("ab", 32) + ".png"
	st, _, _ = c.send(t, req{method: "GET", path: "/objects/originals/ab" + missing})
	expect(t, "missing original", st, 404)
	st, _, _ = c.send(t, req{method: "GET", path: "/objects/variants/ab" + missing})
	expect(t, "missing variant", st, 404)
	st, _, _ = c.send(t, req{method: "HEAD", path: "/objects/variants/ab" + missing})
	expect(t, "missing variant HEAD", st, 404)

	// Direct uploads need a bucket; on disk they are not implemented.
	st, _, _ = c.send(t, req{method: "POST", path: pp + "/uploads", token: as})
	expect(t, "direct upload on disk", st, 501)
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/uploads/" + uuid.NewString() + "/complete", token: as})
	expect(t, "complete an unknown upload", st, 404)

	// Purge runs.
	if _, err := reconcile.Run(gallery.WithCaller(ctx, gallery.Service()), b.db, b.store, reconcile.Options{Grace: time.Hour, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/purges/latest", token: service})
	expect(t, "purges", st, 200)
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/purges/latest", token: as})
	expect(t, "purges as a supplier", st, 403)

	// Methods and paths the API does not serve.
	st, h, _ = c.send(t, req{method: "DELETE", path: "/v1/purges/latest", token: service})
	expect(t, "DELETE purges", st, 405)
	if h.Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow %q", h.Get("Allow"))
	}
	st, h, _ = c.send(t, req{method: "PUT", path: "/v1/products", token: as})
	expect(t, "PUT products", st, 405)
	if h.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("Allow %q", h.Get("Allow"))
	}
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/nothing", token: as})
	expect(t, "unknown path", st, 404)

	// Headers over the server's limit are refused by the HTTP server, as text.
	st, _, _ = c.send(t, req{method: "GET", path: "/healthz", header: []string{"X-Padding", strings.Repeat("x", 1<<20+8<<10)}})
	expect(t, "huge headers", st, 431)

	// The product's event stream.
	contractEvents(t, c, productID, as)

	// Bulk imports.
	feed := fmt.Sprintf(`{"product_id": %q, "source_url": "https://images.example.com/a.jpg"}`+"\n"+`{"source_url": 1}`+"\n", productID)
	st, h, data = c.send(t, req{method: "POST", path: "/v1/imports", token: as, contentType: "application/x-ndjson", body: []byte(feed)})
	expect(t, "start a bulk import", st, 202)
	var bulk struct {
		ID       uuid.UUID
		Failures []struct{ Line int }
	}
	if err := json.Unmarshal(data, &bulk); err != nil || len(bulk.Failures) != 1 || h.Get("Location") != "/v1/imports/"+bulk.ID.String() {
		t.Errorf("bulk import: %s, Location %q", data, h.Get("Location"))
	}
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/imports/" + bulk.ID.String() + "?limit=1", token: as})
	expect(t, "read a bulk import", st, 200)
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/imports/" + bulk.ID.String(), token: other})
	expect(t, "read another's bulk import", st, 404)
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/imports/" + bulk.ID.String() + "?limit=5000", token: as, invalid: true})
	expect(t, "read a bulk import with a bad limit", st, 400)
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/imports", token: as, contentType: "application/x-ndjson", body: []byte("\n")})
	expect(t, "an empty feed", st, 400)
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/imports", token: as, contentType: "application/x-ndjson",
		body: []byte(`{"alt": "` + strings.Repeat("a", gallery.MaxImportLineBytes) + `"}`)})
	expect(t, "a feed line too long", st, 413)

	// Deletes.
	st, _, _ = c.send(t, req{method: "DELETE", path: ip, token: as})
	expect(t, "delete an image", st, 204)
	st, _, _ = c.send(t, req{method: "DELETE", path: ip, token: as})
	expect(t, "delete it again", st, 404)
	st, _, _ = c.send(t, req{method: "DELETE", path: "/v1/images/" + ids[1].String(), token: other})
	expect(t, "delete another's image", st, 403)
	st, _, _ = c.send(t, req{method: "DELETE", path: pp, token: other})
	expect(t, "delete another's product", st, 403)

	// Webhooks: an endpoint, its deliveries, a resend.
	var hook struct {
		ID     uuid.UUID `json:"id"`
		Secret string    `json:"secret"`
	}
	st, h, data = c.send(t, req{method: "POST", path: "/v1/webhooks", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"url": "https://hooks.example.com/vitrine", "events": []string{"product.deleted"}})})
	expect(t, "create a webhook", st, 201)
	if err := json.Unmarshal(data, &hook); err != nil || hook.Secret == "" || h.Get("Location") != "/v1/webhooks/"+hook.ID.String() {
		t.Fatalf("created webhook %s (%v), Location %q", data, err, h.Get("Location"))
	}
	wp := "/v1/webhooks/" + hook.ID.String()
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/webhooks", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"url": "ftp://hooks.example.com/", "events": []string{"product.deleted"}})})
	expect(t, "a webhook to an ftp URL", st, 400)
	st, _, _ = c.send(t, req{method: "POST", path: "/v1/webhooks", token: as, contentType: "application/json",
		body: jsonBody(t, map[string]any{"url": "https://hooks.example.com/", "events": []string{"product.deleted"}, "supplier_id": uuid.New()})})
	expect(t, "a webhook for another supplier", st, 403)
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/webhooks", token: as})
	expect(t, "list webhooks", st, 200)
	st, _, _ = c.send(t, req{method: "GET", path: "/v1/webhooks?supplier_id=" + uuid.NewString(), token: as})
	expect(t, "list another supplier's webhooks", st, 403)
	st, _, _ = c.send(t, req{method: "GET", path: wp, token: as})
	expect(t, "read a webhook", st, 200)
	st, _, _ = c.send(t, req{method: "GET", path: wp, token: other})
	expect(t, "read another's webhook", st, 404)
	st, _, _ = c.send(t, req{method: "PATCH", path: wp, token: as, contentType: "application/json", body: []byte(`{"description": "cache", "enabled": true}`)})
	expect(t, "change a webhook", st, 200)
	st, _, _ = c.send(t, req{method: "PATCH", path: wp, token: as, contentType: "application/json", body: []byte(`{"events": ["image.eaten"]}`), invalid: true})
	expect(t, "an unknown event", st, 400)
	var doomed struct{ ID uuid.UUID }
	_, _, data = c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json", body: []byte(`{}`)})
	_ = json.Unmarshal(data, &doomed)
	st, _, _ = c.send(t, req{method: "DELETE", path: "/v1/products/" + doomed.ID.String(), token: as})
	expect(t, "delete a product a webhook hears of", st, 204)
	var deliveries struct {
		Deliveries []struct{ ID int64 } `json:"deliveries"`
	}
	st, _, data = c.send(t, req{method: "GET", path: wp + "/deliveries?limit=10", token: as})
	expect(t, "list deliveries", st, 200)
	if err := json.Unmarshal(data, &deliveries); err != nil || len(deliveries.Deliveries) != 1 {
		t.Fatalf("deliveries %s (%v), want the product's deletion", data, err)
	}
	st, _, _ = c.send(t, req{method: "GET", path: wp + "/deliveries?limit=0", token: as, invalid: true})
	expect(t, "a page of no deliveries", st, 400)
	resend := fmt.Sprintf("%s/deliveries/%d/resend", wp, deliveries.Deliveries[0].ID)
	st, _, _ = c.send(t, req{method: "POST", path: resend, token: as})
	expect(t, "resend a delivery still queued", st, 409)
	if _, err := b.db.Pool().Exec(context.Background(), `UPDATE vitrine_webhook_deliveries SET status = 'failed'`); err != nil {
		t.Fatal(err)
	}
	st, _, _ = c.send(t, req{method: "POST", path: resend, token: as})
	expect(t, "resend a failed delivery", st, 202)
	st, _, _ = c.send(t, req{method: "POST", path: resend, token: other})
	expect(t, "resend another's delivery", st, 404)

	// A token that is not valid is refused on every operation, reads included; HEAD answers
	// what GET does, without the body.
	var opIDs []string
	for path, item := range c.doc.Paths.Map() {
		for method, o := range item.Operations() {
			opIDs = append(opIDs, o.OperationID)
			id := ids[1].String()
			switch {
			case strings.HasPrefix(path, "/v1/webhooks/"):
				id = hook.ID.String()
			case strings.HasPrefix(path, "/v1/imports/"):
				id = bulk.ID.String()
			}
			p := strings.NewReplacer("{product_id}", productID.String(), "{id}", id,
				"{delivery_id}", "1", "{shard}", "ab", "{name}", strings.Repeat("ab", 32)+".png", "{path}", "vitrine-gallery.js",
				"{preset}", "mobile").Replace(path)
			if method == http.MethodHead && !strings.HasPrefix(path, "/objects/") {
				st, h, data := c.send(t, req{method: method, path: p, token: service})
				if strings.Contains(path, "/main/") { // a redirect, without a body
					expect(t, "HEAD "+path, st, 302)
					if len(data) != 0 || h.Get("Location") == "" {
						t.Errorf("HEAD %s: %d bytes to %q", path, len(data), h.Get("Location"))
					}
				} else {
					expect(t, "HEAD "+path, st, 200)
					if len(data) != 0 || h.Get("Content-Type") == "" {
						t.Errorf("HEAD %s: %d bytes of %q", path, len(data), h.Get("Content-Type"))
					}
				}
			}
			r := req{method: method, path: p, token: "not-a-token", invalid: true}
			if o.RequestBody != nil && o.RequestBody.Value.Content.Get("application/json") != nil {
				r.contentType, r.body = "application/json", []byte(`{}`)
			}
			st, h, _ := c.send(t, r)
			expect(t, method+" "+path+" with a bad token", st, 401)
			if h.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
				t.Errorf("%s %s: WWW-Authenticate %q", method, path, h.Get("WWW-Authenticate"))
			}
		}
	}

	st, _, _ = c.send(t, req{method: "DELETE", path: pp, token: as})
	expect(t, "delete the product", st, 204)
	st, _, _ = c.send(t, req{method: "DELETE", path: wp, token: as})
	expect(t, "delete the webhook", st, 204)
	return opIDs
}

// contractBucket is the direct upload through a real S3 server, and objects answered with a
// redirect to their bucket.
func contractBucket(t *testing.T, cov *coverage) {
	b := setup(t, func(o *options) {
		o.s3 = true
		o.objectLocation = func(ctx context.Context, key string) (string, error) {
			return "https://bucket.example/" + key + "?signature=x", nil
		}
	})
	c := newContract(t, b, cov)
	as := tokenFor(t, gallery.Supplier(uuid.New()))
	st, _, data := c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json", body: []byte(`{}`)})
	expect(t, "create", st, 201)
	var p struct{ ID uuid.UUID }
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	st, _, data = c.send(t, req{method: "POST", path: "/v1/products/" + p.ID.String() + "/uploads", token: as,
		contentType: "application/json", body: []byte(`{"alt": "straight to the bucket"}`)})
	expect(t, "start a direct upload", st, 201)
	var d directUpload
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	st, _, _ = c.send(t, req{method: "POST", path: d.CompleteURL, token: as})
	expect(t, "complete before the PUT", st, 409)
	put(t, d.UploadURL, validImages(t)["video-001.png"])
	st, h, data := c.send(t, req{method: "POST", path: d.CompleteURL, token: as})
	expect(t, "complete", st, 201)
	if !strings.HasPrefix(h.Get("Location"), "/v1/images/") {
		t.Errorf("Location %q", h.Get("Location"))
	}
	var im imageBody
	if err := json.Unmarshal(data, &im); err != nil {
		t.Fatal(err)
	}
	op := strings.TrimPrefix(im.URL, b.url)
	st, _, _ = c.send(t, req{method: "GET", path: op})
	expect(t, "object in a bucket", st, 302)
	st, _, _ = c.send(t, req{method: "HEAD", path: op})
	expect(t, "object in a bucket, HEAD", st, 200)
}

// contractLimits is the refusals of a server with budgets: 429 with Retry-After, 413 for a
// file over the size limit, 503 with Retry-After when every upload slot stays taken.
func contractLimits(t *testing.T, cov *coverage) {
	// The store tells when an upload starts to store its file, which it does only once it
	// holds an upload slot.
	storing := make(chan struct{}, 16)
	b := setup(t, func(o *options) {
		o.maxBytes = 64 << 10
		o.limit = &httpapiLimiter{perMinute: 1, burst: 3, writesPerMinute: 1, writeBurst: 1}
		o.uploadSlots = httpapi.NewUploadSlots(1, 200*time.Millisecond)
		o.wrapStore = func(s storage.Store) storage.Store { return signalingStore{s, storing} }
	})
	c := newContract(t, b, cov)
	as := tokenFor(t, gallery.Supplier(uuid.New()))
	st, _, data := c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json", body: []byte(`{}`)})
	expect(t, "create", st, 201)
	var p struct{ ID uuid.UUID }
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	st, h, _ := c.send(t, req{method: "POST", path: "/v1/products", token: as, contentType: "application/json", body: []byte(`{}`)})
	expect(t, "create over the budget", st, 429)
	if h.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	// One upload holds the only slot, its body half sent; the next is refused after the wait.
	path := "/v1/products/" + p.ID.String() + "/images"
	slow, ct := form(t, [2]string{"file", string(encode(t, "png", noisy(120, 120)))})
	if len(slow) > 64<<10 || len(slow) < 32<<10 {
		t.Fatalf("the slow upload's body is %d bytes", len(slow))
	}
	pr, pw := io.Pipe()
	slowReq := req{method: "POST", path: path, token: as, contentType: ct, body: slow}
	hr := c.request(t, slowReq, pr)
	hr.ContentLength = int64(len(slow))
	type answer struct {
		res  *http.Response
		data []byte
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := http.DefaultTransport.RoundTrip(hr)
		if err != nil {
			done <- answer{err: err}
			return
		}
		data, err := io.ReadAll(res.Body)
		res.Body.Close()
		done <- answer{res, data, err}
	}()
	half := len(slow) / 2
	if _, err := pw.Write(slow[:half]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-storing:
	case <-time.After(time.Minute):
		t.Fatal("the first upload did not start to store its file")
	}
	body, ct2 := form(t, [2]string{"file", string(validImages(t)["encoded.png"])})
	st, h, _ = c.send(t, req{method: "POST", path: path, token: as, contentType: ct2, body: body})
	expect(t, "upload while the slot is taken", st, 503)
	if h.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if _, err := pw.Write(slow[half:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	c.check(t, slowReq, a.res, a.data)
	expect(t, "the slow upload", a.res.StatusCode, 201)

	// Larger than the limit and its multipart allowance, refused from its Content-Length, and
	// small enough for the server to read the rest of it before closing (net/http reads up to
	// 256 KiB of an unread body), so the answer is never cut by a reset.
	large, ct3 := form(t, [2]string{"file", string(encode(t, "png", noisy(200, 200)))})
	if len(large) <= 128<<10 || len(large) >= 256<<10 {
		t.Fatalf("the large upload's body is %d bytes", len(large))
	}
	st, _, _ = c.send(t, req{method: "POST", path: path, token: as, contentType: ct3, body: large})
	expect(t, "upload over the size limit", st, 413)
	st, h, _ = c.send(t, req{method: "POST", path: path, token: as, contentType: ct2, body: body})
	expect(t, "upload over the budget", st, 429)
	if h.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// signalingStore sends on ch (when it has room) each time an object is started.
type signalingStore struct {
	storage.Store
	ch chan struct{}
}

func (s signalingStore) NewWriter(ctx context.Context) (storage.Writer, error) {
	select {
	case s.ch <- struct{}{}:
	default:
	}
	return s.Store.NewWriter(ctx)
}
