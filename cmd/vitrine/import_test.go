package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/sseclient"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// importedImage is an image as the API shows it, with what an import adds.
type importedImage struct {
	ID        uuid.UUID `json:"id"`
	Position  int       `json:"position"`
	Status    string    `json:"status"`
	URL       string    `json:"url"`
	SHA256    string    `json:"sha256"`
	Width     int       `json:"width"`
	SourceURL string    `json:"source_url"`
	ErrorCode string    `json:"error_code"`
	LastError string    `json:"last_error"`
}

// importSource is the remote side of imports: an httptest server on loopback whose answers
// the test sets per path, counting the bytes of its bodies.
type importSource struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]http.HandlerFunc
	sent    atomic.Int64 // body bytes written, by every handler
}

func newImportSource(t *testing.T) *importSource {
	s := &importSource{answers: map[string]http.HandlerFunc{}}
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

func (s *importSource) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[path] = h
}

func (s *importSource) serve(path, contentType string, body []byte) {
	s.handle(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		n, _ := w.Write(body)
		s.sent.Add(int64(n))
	})
}

// hostPort is the source's "127.0.0.1:port", as VITRINE_IMPORT_ALLOW_HOSTS names it.
func (s *importSource) hostPort() string { return strings.TrimPrefix(s.URL, "http://") }

// importTo posts an import by URL and decodes a successful answer into out.
func importTo(t *testing.T, base, token string, productID uuid.UUID, body map[string]any, out any) *http.Response {
	t.Helper()
	return call(t, "POST", base+"/v1/products/"+productID.String()+"/images", token, body, out)
}

// waitImport polls an image until its status is one of want, and returns it.
func waitImport(t *testing.T, base, token string, id uuid.UUID, want ...string) importedImage {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var im importedImage
		if resp := send(t, "GET", base+"/v1/images/"+id.String(), token, nil, "", &im); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET image %s: %d", id, resp.StatusCode)
		}
		for _, w := range want {
			if im.Status == w {
				return im
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("image %s: %+v, never %v", id, im, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// filesUnder lists the regular files under dir (none when it does not exist).
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jpegPrefix returns a small real JPEG up to its start of scan: what a stream of padding
// segments can follow, as a huge image would.
func jpegPrefix(t *testing.T) []byte {
	t.Helper()
	jpeg := goImage(t, "video-001.jpeg")
	sos := 2
	for jpeg[sos] == 0xff && jpeg[sos+1] != 0xda {
		sos += 2 + int(binary.BigEndian.Uint16(jpeg[sos+2:]))
	}
	return jpeg[:sos]
}

// hugeJPEG answers 2 GB, generated as it is sent: a real JPEG's header, then padding segments,
// with a Content-Length when declare is set (otherwise chunked).
func (s *importSource) hugeJPEG(t *testing.T, declare bool) http.HandlerFunc {
	prefix := jpegPrefix(t)
	seg := append([]byte{0xff, 0xfe, 0xff, 0xff}, bytes.Repeat([]byte{'v'}, 0xffff-2)...)
	return func(w http.ResponseWriter, r *http.Request) {
		const total = 2 << 30
		w.Header().Set("Content-Type", "image/jpeg")
		if declare {
			w.Header().Set("Content-Length", strconv.Itoa(total))
		}
		n, err := w.Write(prefix)
		s.sent.Add(int64(n))
		for sent := int64(n); err == nil && sent < total; sent += int64(n) {
			n, err = w.Write(seg[:min(int64(len(seg)), total-sent)])
			s.sent.Add(int64(n))
		}
	}
}

// TestImportFailures imports from sources that fail in every way the task names, through a
// real `vitrine serve` with its River workers: each leaves its image failed with its code and
// nothing in the store; a bad URL is refused at once; a failed import retried once its source
// is fixed ends ready.
func TestImportFailures(t *testing.T) {
	t.Parallel()
	src := newImportSource(t)
	other := newImportSource(t) // on loopback too, but not allowed
	const maxBytes = 4 << 20
	s := startServe(t, map[string]string{
		"VITRINE_JWT_SECRET": tenantSecret, "VITRINE_IMPORT_ALLOW_HOSTS": src.hostPort(),
		"VITRINE_IMPORT_TIMEOUT": "3s", "VITRINE_MAX_UPLOAD_BYTES": strconv.Itoa(maxBytes),
	})
	as := supplierToken(t, uuid.New())
	var p struct{ ID uuid.UUID }
	if resp := call(t, "POST", s.base+"/v1/products", as, map[string]any{"title": "Imported"}, &p); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	photo, err := os.ReadFile(testphotos.Medium(t))
	if err != nil {
		t.Fatal(err)
	}
	other.serve("/photo.jpg", "image/jpeg", photo)

	// Refused at request time: 400, no row.
	for _, bad := range []string{"ftp://example.com/a.jpg", "http://", "https://user:secret@example.com/a.jpg", "/a.jpg", "example.com/a.jpg", ""} {
		resp := importTo(t, s.base, as, p.ID, map[string]any{"source_url": bad}, nil)
		var e struct {
			Error struct{ Code, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != http.StatusBadRequest || e.Error.Code != "invalid" || e.Error.Message == "" {
			t.Errorf("import of %q: %d %+v, want 400 invalid", bad, resp.StatusCode, e)
		}
	}

	src.handle("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		io.WriteString(w, "<!doctype html><html><body>not an image</body></html>")
	})
	src.handle("/pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		io.WriteString(w, "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	})
	src.handle("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Length", strconv.Itoa(len(photo)))
		for i := 0; i < len(photo); i += 512 {
			if _, err := w.Write(photo[i:min(i+512, len(photo))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	for i := 1; i <= 6; i++ { // /r6 -> /r5 -> ... -> /r1 -> /photo.jpg
		next := "/r" + strconv.Itoa(i-1)
		if i == 1 {
			next = "/photo.jpg"
		}
		src.handle("/r"+strconv.Itoa(i), func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, next, http.StatusFound) })
	}
	src.handle("/to-loopback", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/photo.jpg", http.StatusFound)
	})
	src.handle("/to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.1.2.3/photo.jpg", http.StatusFound)
	})
	src.handle("/to-ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.com/photo.jpg", http.StatusFound)
	})
	src.handle("/huge", src.hugeJPEG(t, false))
	src.handle("/huge-declared", src.hugeJPEG(t, true))
	localhost := strings.Replace(src.URL, "127.0.0.1", "localhost", 1)

	cases := []struct {
		url, code, message string
	}{
		{src.URL + "/missing", "source_status", "the source answered 404 Not Found"},
		{src.URL + "/html", "unsupported_media", "the file is not a JPEG, PNG, GIF, WebP, HEIC, HEIF or AVIF image"},
		{src.URL + "/pdf", "unsupported_media", "the file is not a JPEG, PNG, GIF, WebP, HEIC, HEIF or AVIF image"},
		{src.URL + "/slow", "timeout", "the source did not send the whole image within 3s"},
		{src.URL + "/r6", "too_many_redirects", "the source redirected too many times"},
		{src.URL + "/to-loopback", "forbidden_address", "the source, or a redirect, is at an address Vitrine may not reach"},
		{src.URL + "/to-private", "forbidden_address", "the source, or a redirect, is at an address Vitrine may not reach"},
		{localhost + "/photo.jpg", "forbidden_address", "the source, or a redirect, is at an address Vitrine may not reach"},
		{src.URL + "/to-ftp", "bad_scheme", "the source redirected to a URL that is not http or https, or has credentials"},
		{src.URL + "/huge", "too_large", fmt.Sprintf("the file is larger than %d bytes", maxBytes)},
		{src.URL + "/huge-declared", "too_large", fmt.Sprintf("the file is larger than %d bytes", maxBytes)},
	}
	ids := make([]uuid.UUID, len(cases))
	for i, c := range cases {
		var im importedImage
		resp := importTo(t, s.base, as, p.ID, map[string]any{"source_url": c.url, "alt": "case " + strconv.Itoa(i)}, &im)
		if resp.StatusCode != http.StatusAccepted || im.Status != "importing" || im.SourceURL != c.url || im.Position != i ||
			resp.Header.Get("Location") != "/v1/images/"+im.ID.String() {
			t.Fatalf("import of %s: %d %+v", c.url, resp.StatusCode, im)
		}
		ids[i] = im.ID
	}
	for i, c := range cases {
		im := waitImport(t, s.base, as, ids[i], "failed", "ready")
		if im.Status != "failed" || im.ErrorCode != c.code || im.LastError != c.message || im.SourceURL != c.url || im.URL != "" || im.SHA256 != "" {
			t.Errorf("import of %s: %+v, want failed with %s: %q", c.url, im, c.code, c.message)
		}
	}
	if other.sent.Load() != 0 {
		t.Errorf("the server that was not allowed sent %d bytes", other.sent.Load())
	}
	// The 2 GB streams were cut at the limit: what the source could send before the
	// connection was closed is the limit and what the sockets' buffers hold, not gigabytes.
	if sent := src.sent.Load(); sent > maxBytes+32<<20 {
		t.Errorf("the sources sent %d bytes; the imports should have stopped reading at %d", sent, maxBytes)
	}
	// Nothing left behind: no original, no temporary object, nothing spooled.
	if files := filesUnder(t, filepath.Join(s.dataDir, "objects")); len(files) != 0 {
		t.Errorf("failed imports left files: %v", files)
	}
	if files := filesUnder(t, filepath.Join(s.dataDir, "spool")); len(files) != 0 {
		t.Errorf("failed imports left spooled files: %v", files)
	}

	// The same URL again is the same image, failed as it is.
	var again importedImage
	if resp := importTo(t, s.base, as, p.ID, map[string]any{"source_url": cases[0].url}, &again); resp.StatusCode != http.StatusOK ||
		again.ID != ids[0] || again.Status != "failed" {
		t.Fatalf("second import of %s: %d %+v", cases[0].url, resp.StatusCode, again)
	}
	var g struct{ Images []importedImage }
	send(t, "GET", s.base+"/v1/products/"+p.ID.String()+"/images", as, nil, "", &g)
	if len(g.Images) != len(cases) {
		t.Fatalf("the refused imports left images: %d, want %d", len(g.Images), len(cases))
	}
	// Fixed at the source, retried: it ends ready, main image with its thumbnails.
	src.serve("/missing", "image/jpeg", photo)
	var retried importedImage
	if resp := send(t, "POST", s.base+"/v1/images/"+ids[0].String()+"/retry", as, nil, "", &retried); resp.StatusCode != http.StatusAccepted ||
		retried.Status != "importing" || retried.ErrorCode != "" || retried.LastError != "" {
		t.Fatalf("retry: %d %+v", resp.StatusCode, retried)
	}
	done := waitImport(t, s.base, as, ids[0], "ready", "failed")
	if done.Status != "ready" || done.Position != 0 || done.Width != 1680 || done.SHA256 == "" {
		t.Fatalf("retried import: %+v", done)
	}
	// Five redirects are followed; the sixth was one too many.
	src.serve("/photo.jpg", "image/jpeg", photo)
	var five importedImage
	if resp := importTo(t, s.base, as, p.ID, map[string]any{"source_url": src.URL + "/r5"}, &five); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("import through 5 redirects: %d", resp.StatusCode)
	}
	if im := waitImport(t, s.base, as, five.ID, "none", "failed"); im.Status != "none" || im.Width != 1680 {
		t.Fatalf("import through 5 redirects: %+v", im)
	}
}

// TestImportKeepsPositions imports a feed whose images finish out of order: each keeps the
// position it was given, the first becomes a ready main image with thumbnails, and its stored
// original has lost the camera's metadata.
func TestImportKeepsPositions(t *testing.T) {
	t.Parallel()
	src := newImportSource(t)
	s := startServe(t, map[string]string{
		"VITRINE_JWT_SECRET": tenantSecret, "VITRINE_IMPORT_ALLOW_HOSTS": src.hostPort(),
	})
	as := supplierToken(t, uuid.New())
	var p struct{ ID uuid.UUID }
	if resp := call(t, "POST", s.base+"/v1/products", as, map[string]any{"title": "Feed"}, &p); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	photo, err := os.ReadFile(testphotos.Medium(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(photo, []byte("Canon")) {
		t.Fatal("the test photograph has no camera EXIF to strip")
	}
	// The product's event stream: an import shows as created (importing), then a status
	// change once its original is published.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/products/"+p.ID.String()+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+as)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("opening the stream: %v %v", err, stream)
	}
	defer stream.Body.Close()
	type imageEvent struct {
		Change  string        `json:"change"`
		ImageID uuid.UUID     `json:"image_id"`
		Image   importedImage `json:"image"`
	}
	events := make(chan imageEvent, 100)
	go func() {
		defer close(events)
		_ = sseclient.Read(stream.Body, func(ev sseclient.Event) bool {
			var e imageEvent
			if ev.Event == "image" && json.Unmarshal([]byte(ev.Data), &e) == nil {
				events <- e
			}
			return true
		})
	}()

	release := make(chan struct{})
	src.handle("/first.jpg", func(w http.ResponseWriter, r *http.Request) {
		select { // held until the later images are published
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(photo)
	})
	src.serve("/second.png", "image/png", goImage(t, "video-001.png"))
	src.serve("/third.gif", "image/gif", goImage(t, "video-001.gif"))

	feed := []string{"/third.gif", "/first.jpg", "/second.png"}
	positions := []any{nil, 0, 1} // third at the end, then first and second before it
	ids := map[string]uuid.UUID{}
	for i, path := range feed {
		body := map[string]any{"source_url": src.URL + path}
		if positions[i] != nil {
			body["position"] = positions[i]
		}
		var im importedImage
		if resp := importTo(t, s.base, as, p.ID, body, &im); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("import %s: %d", path, resp.StatusCode)
		}
		ids[path] = im.ID
	}
	waitImport(t, s.base, as, ids["/second.png"], "none")
	waitImport(t, s.base, as, ids["/third.gif"], "none")
	close(release)
	first := waitImport(t, s.base, as, ids["/first.jpg"], "ready", "failed")
	if first.Status != "ready" {
		t.Fatalf("first image: %+v", first)
	}
	seen := map[string]bool{}
	for !seen["status"] {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended; saw %v", seen)
			}
			if e.ImageID != first.ID {
				continue
			}
			switch {
			case e.Change == "created" && e.Image.Status == "importing":
				seen["created"] = true
			case e.Change == "status" && e.Image.Status != "importing" && e.Image.SHA256 != "":
				seen["status"] = true
			}
		case <-time.After(time.Minute):
			t.Fatalf("no status event for the published import; saw %v", seen)
		}
	}
	if !seen["created"] {
		t.Fatal("no created event with status importing")
	}
	var g struct{ Images []importedImage }
	send(t, "GET", s.base+"/v1/products/"+p.ID.String()+"/images", as, nil, "", &g)
	want := []string{"/first.jpg", "/second.png", "/third.gif"}
	for i, im := range g.Images {
		if i >= len(want) || im.ID != ids[want[i]] || im.Position != i || im.SourceURL != src.URL+want[i] {
			t.Fatalf("gallery: %+v, want %v", g.Images, want)
		}
	}
	stored, err := os.ReadFile(findObject(t, s.dataDir, first.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte("Canon")) || len(stored) >= len(photo) {
		t.Fatalf("the stored original (%d bytes of %d) kept the camera's metadata", len(stored), len(photo))
	}
}

// TestImportHostSlots imports more images from one slow host than its slots allow, and checks
// that the host never serves more fetches at once than VITRINE_IMPORT_PER_HOST, while an
// import from another host is not held up behind them.
func TestImportHostSlots(t *testing.T) {
	t.Parallel()
	slow, fast := newImportSource(t), newImportSource(t)
	// Slots are per host name, whatever the port: the other host is reached by another name.
	fastURL := strings.Replace(fast.URL, "127.0.0.1", "localhost", 1)
	s := startServe(t, map[string]string{
		"VITRINE_JWT_SECRET":         tenantSecret,
		"VITRINE_IMPORT_ALLOW_HOSTS": slow.hostPort() + "," + strings.TrimPrefix(fastURL, "http://"),
		"VITRINE_IMPORT_PER_HOST":    "2", "VITRINE_IMPORT_WORKERS": "4",
	})
	as := supplierToken(t, uuid.New())
	var p struct{ ID uuid.UUID }
	if resp := call(t, "POST", s.base+"/v1/products", as, map[string]any{"title": "Slots"}, &p); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	img := goImage(t, "video-001.png")
	var running, peak atomic.Int32
	gate := make(chan struct{})
	slow.handle("/img", func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			if old := peak.Load(); n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		// The headers at once, the body once the gate opens.
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", strconv.Itoa(len(img)))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		w.Write(img)
	})
	fast.serve("/img", "image/png", img)
	var slowIDs []uuid.UUID
	for i := range 6 {
		var im importedImage
		if resp := importTo(t, s.base, as, p.ID, map[string]any{"source_url": fmt.Sprintf("%s/img?n=%d", slow.URL, i)}, &im); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("import: %d", resp.StatusCode)
		}
		slowIDs = append(slowIDs, im.ID)
	}
	deadline := time.Now().Add(time.Minute)
	for running.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the slow host never had 2 fetches running (%d)", running.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Two workers are free (4 workers, 2 slots taken): another host's import goes through.
	var quick importedImage
	if resp := importTo(t, s.base, as, p.ID, map[string]any{"source_url": fastURL + "/img"}, &quick); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("import: %d", resp.StatusCode)
	}
	start := time.Now()
	waitImport(t, s.base, as, quick.ID, "none")
	t.Logf("the other host's import was published in %s while the slow host's slots were full", time.Since(start))
	if peak.Load() > 2 {
		t.Fatalf("the slow host served %d fetches at once, more than its 2 slots", peak.Load())
	}
	close(gate)
	for _, id := range slowIDs {
		waitImport(t, s.base, as, id, "ready", "none")
	}
	if peak.Load() != 2 {
		t.Fatalf("the slow host served at most %d fetches at once, want exactly its 2 slots", peak.Load())
	}
}

// TestImportBudgetAndTenancy checks that imports count against the caller's uploads budget
// (429 with Retry-After once it is spent) and that a supplier cannot import into another's
// product, leaving no row either way.
func TestImportBudgetAndTenancy(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{
		"VITRINE_JWT_SECRET": tenantSecret, "VITRINE_UPLOADS_PER_MINUTE": "1", "VITRINE_UPLOAD_BURST": "2",
		"VITRINE_WORKERS": "0", // nothing fetches: the rows stay importing
	})
	owner, stranger := supplierToken(t, uuid.New()), supplierToken(t, uuid.New())
	var p struct{ ID uuid.UUID }
	if resp := call(t, "POST", s.base+"/v1/products", owner, map[string]any{"title": "Budget"}, &p); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	if resp := importTo(t, s.base, stranger, p.ID, map[string]any{"source_url": "https://example.com/x.jpg"}, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another supplier's import: %d, want 404", resp.StatusCode)
	}
	for i := range 2 {
		if resp := importTo(t, s.base, owner, p.ID, map[string]any{"source_url": fmt.Sprintf("https://example.com/%d.jpg", i)}, nil); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("import %d: %d", i, resp.StatusCode)
		}
	}
	resp := importTo(t, s.base, owner, p.ID, map[string]any{"source_url": "https://example.com/2.jpg"}, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("import over the budget: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var g struct{ Images []importedImage }
	send(t, "GET", s.base+"/v1/products/"+p.ID.String()+"/images", owner, nil, "", &g)
	if len(g.Images) != 2 || g.Images[0].Status != "importing" {
		t.Fatalf("gallery: %+v, want the 2 accepted imports, importing", g.Images)
	}
}

// TestImportHugeStreamsAreBounded imports, at once, four 2 GB streams (generated as they are
// sent, no Content-Length) into a `vitrine serve` process: each is cut at the size limit and
// fails too_large, the sources send little more than the limit, the process's peak RSS grows
// by less than 64 MiB, and no temporary file is left.
func TestImportHugeStreamsAreBounded(t *testing.T) {
	src := newImportSource(t)
	const maxBytes = 16 << 20
	s := startServeProcess(t, map[string]string{
		"VITRINE_JWT_SECRET": tenantSecret, "VITRINE_IMPORT_ALLOW_HOSTS": src.hostPort(),
		"VITRINE_MAX_UPLOAD_BYTES": strconv.Itoa(maxBytes), "VITRINE_IMPORT_PER_HOST": "4", "VITRINE_IMPORT_WORKERS": "4",
	})
	src.handle("/huge", src.hugeJPEG(t, false))
	as := supplierToken(t, uuid.New())
	var p struct{ ID uuid.UUID }
	if resp := call(t, "POST", s.base+"/v1/products", as, map[string]any{"title": "Huge"}, &p); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	before := s.PeakRSS(t)
	var ids []uuid.UUID
	for i := range 4 {
		var im importedImage
		if resp := importTo(t, s.base, as, p.ID, map[string]any{"source_url": fmt.Sprintf("%s/huge?n=%d", src.URL, i)}, &im); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("import: %d", resp.StatusCode)
		}
		ids = append(ids, im.ID)
	}
	for _, id := range ids {
		im := waitImport(t, s.base, as, id, "failed", "ready")
		if im.ErrorCode != "too_large" {
			t.Fatalf("a 2 GB stream: %+v, want failed too_large", im)
		}
	}
	peak := s.PeakRSS(t)
	sent := src.sent.Load()
	t.Logf("peak RSS %d MiB before four 2 GB imports, %d MiB after; the sources sent %d MiB in all", before>>20, peak>>20, sent>>20)
	if peak-before > 64<<20 {
		t.Errorf("peak RSS grew by %d MiB", (peak-before)>>20)
	}
	if sent > 4*(maxBytes+32<<20) {
		t.Errorf("the sources sent %d MiB; each import should have stopped reading at %d MiB", sent>>20, maxBytes>>20)
	}
	if files := filesUnder(t, filepath.Join(s.dataDir, "objects")); len(files) != 0 {
		t.Errorf("the imports left files: %v", files)
	}
	if files := filesUnder(t, filepath.Join(s.dataDir, "spool")); len(files) != 0 {
		t.Errorf("the imports left spooled files: %v", files)
	}
}
