package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/imageinfo"
	"github.com/vitrine-dev/vitrine/imaging"
	"github.com/vitrine-dev/vitrine/internal/testimages"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
	"github.com/vitrine-dev/vitrine/upload"
)

const maxUpload = 25 << 20 // VITRINE_MAX_UPLOAD_BYTES's default

// supplier is a signed-in supplier of a served process, with a product of its own.
type supplier struct {
	token   string
	product string
}

// newSupplier mints a token for a new supplier and creates a product with it.
func (s *served) newSupplier(t testing.TB) supplier {
	t.Helper()
	id := uuid.New()
	sp := supplier{token: s.mint(t, gallery.Caller{Role: gallery.RoleAuthenticated, UserID: id})}
	req, _ := http.NewRequest("POST", s.base+"/v1/products", strings.NewReader(fmt.Sprintf(`{"supplier_id":%q}`, id)))
	req.Header.Set("Authorization", "Bearer "+sp.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 201 {
		t.Fatalf("creating a product: %d %v", resp.StatusCode, err)
	}
	sp.product = p.ID
	return sp
}

// answer is what the server answered to a request.
type answer struct {
	status     int
	code       string
	retryAfter string
	err        error
}

func (a answer) String() string {
	return fmt.Sprintf("%d %s (Retry-After %q, error %v)", a.status, a.code, a.retryAfter, a.err)
}

// postForm posts body, a multipart body of contentType, to sp's product.
func (s *served) postForm(sp supplier, contentType string, body io.Reader) answer {
	req, _ := http.NewRequest("POST", s.base+"/v1/products/"+sp.product+"/images", body)
	req.Header.Set("Authorization", "Bearer "+sp.token)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	var e errorJSON
	json.NewDecoder(resp.Body).Decode(&e)
	return answer{status: resp.StatusCode, code: e.Error.Code, retryAfter: resp.Header.Get("Retry-After")}
}

type errorJSON struct {
	Error struct{ Code, Message string }
}

// fileForm is a multipart form with one file field, whose body can be read many times at
// once without copying the file.
type fileForm struct {
	contentType  string
	head, file   []byte
	tail         []byte
	extraHeaders string
}

func newFileForm(file []byte) *fileForm {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.CreateFormFile("file", "image")
	head := bytes.Clone(b.Bytes())
	b.Reset()
	mw.Close()
	return &fileForm{contentType: mw.FormDataContentType(), head: head, file: file, tail: bytes.Clone(b.Bytes())}
}

func (f *fileForm) body() io.Reader {
	return io.MultiReader(bytes.NewReader(f.head), bytes.NewReader(f.file), bytes.NewReader(f.tail))
}

// smallWebP returns a real photograph as a simple lossy WebP whose longer side is 64 pixels,
// made by libvips, with its size.
func smallWebP(t *testing.T) ([]byte, int, int) {
	t.Helper()
	p, err := imaging.Start(imaging.Config{MaxJobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res, err := p.ProcessFile(context.Background(), testphotos.Medium(t), []imaging.Preset{{Name: "small", LongSide: 64}}, []imaging.Format{imaging.WebP})
	if err != nil {
		t.Fatal(err)
	}
	v := res.Variants[0]
	return v.Data, v.Width, v.Height
}

// extendedWebPAttack returns a valid extended WebP of maxUpload bytes: a 64-pixel photograph,
// an XMP chunk of xmp bytes and an ICC profile chunk taking the rest, which the stripper keeps
// and so must hold back until the end of the file.
func extendedWebPAttack(t *testing.T, xmp int) []byte {
	t.Helper()
	small, w, h := smallWebP(t)
	b, err := testimages.ExtendedWebPWithXMP(small, w, h, maxUpload, xmp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imageinfo.Scan(bytes.NewReader(b), 1<<30); err != nil {
		t.Fatalf("the attack file is not a valid image: %v", err)
	}
	return b
}

// checkEmpty fails the test if dir holds anything.
func checkEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		t.Errorf("%s is not empty: %d entries, such as %s", dir, len(entries), entries[0].Name())
	}
}

// signalReader signals once when it has been read up to at.
type signalReader struct {
	r    io.Reader
	n    int
	at   int
	once *sync.Once
	done chan struct{}
}

func (s *signalReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.n += n; s.n >= s.at {
		s.once.Do(func() { close(s.done) })
	}
	return n, err
}

// TestHostileExtendedWebPsHoldBoundedMemory attacks a `vitrine serve` with 20 concurrent
// valid 25 MiB extended WebPs from one supplier, each a 64-pixel photograph with a 25 MiB ICC
// profile, and 10 from a second one whose profile is 4 MiB (the most accepted) and whose
// other 21 MiB are XMP; each must be held back until its end to be stripped. Meanwhile a
// third supplier uploads a photograph, which must be stored. The first kind is refused with
// 413 too_large for its profile, once read; the second is stored; either may get 503 when no
// upload slot frees in time, never a 500. The server's peak RSS may grow by at most 64 MiB
// (it grew by 1 GB when extended WebPs were held in memory: VITRINE_MAX_CONCURRENT_UPLOADS=16
// uploads in flight hold about 0.5 MiB each, and the rest is garbage-collector headroom), and
// no temporary file may be left behind.
func TestHostileExtendedWebPsHoldBoundedMemory(t *testing.T) {
	s := startServeProcess(t, map[string]string{
		"VITRINE_JWT_SECRET": "a secret of this test only, long enough", "VITRINE_UPLOAD_BURST": "100",
		"VITRINE_UPLOAD_QUEUE_TIMEOUT": "5m",
		// Uploads alone: the thumbnail jobs these uploads cause have their own budget.
		"VITRINE_WORKERS": "0",
	})
	hugeProfile := newFileForm(extendedWebPAttack(t, 0))
	largestProfile := newFileForm(extendedWebPAttack(t, maxUpload-upload.MaxProfileBytes))
	photo, err := os.ReadFile(testphotos.Medium(t))
	if err != nil {
		t.Fatal(err)
	}
	attacker, other, victim := s.newSupplier(t), s.newSupplier(t), s.newSupplier(t)
	before := s.PeakRSS(t)

	type result struct {
		answer
		valid bool
	}
	var wg sync.WaitGroup
	answers := make(chan result, 30)
	started := make(chan struct{})
	var once sync.Once
	for i := range 30 {
		sp, form := attacker, hugeProfile
		if i >= 20 {
			sp, form = other, largestProfile
		}
		wg.Go(func() {
			a := s.postForm(sp, form.contentType, &signalReader{r: form.body(), at: 8 << 20, once: &once, done: started})
			answers <- result{a, form == largestProfile}
		})
	}
	<-started // the server is taking in at least one attack upload
	victimForm := newFileForm(photo)
	if a := s.postForm(victim, victimForm.contentType, victimForm.body()); a.status != 201 {
		t.Errorf("a photograph uploaded during the attack: %v, want 201", a)
	}
	wg.Wait()
	close(answers)
	stored := 0
	for a := range answers {
		switch {
		case a.status == 503 && a.code == "unavailable" && a.retryAfter != "":
		case a.valid && a.status == 201:
			stored++
		case !a.valid && a.status == 413 && a.code == "too_large":
		default:
			t.Errorf("attack upload (profile accepted: %v): %v, want 201 for an accepted profile, 413 too_large for the 25 MiB one, or 503 unavailable with Retry-After", a.valid, a.answer)
		}
	}
	if stored == 0 {
		t.Error("no upload with a 4 MiB profile was stored: the valid files should be accepted")
	}
	peak := s.PeakRSS(t)
	t.Logf("peak RSS %d MiB before the attack, %d MiB after; %d of 10 uploads with a 4 MiB profile stored", before>>20, peak>>20, stored)
	if peak-before > 64<<20 {
		t.Errorf("peak RSS grew by %d MiB, want at most 64 MiB", (peak-before)>>20)
	}
	checkEmpty(t, filepath.Join(s.dataDir, "spool"))
	checkEmpty(t, filepath.Join(s.dataDir, "objects", ".tmp"))
}

// hugeHeaderForm is a multipart body whose file part carries a 9 MB header before a valid
// photograph.
func hugeHeaderForm(photo []byte) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nX-Padding: %s\r\n\r\n",
		mw.Boundary(), strings.Repeat("a", 9_000_000))
	b.Write(photo)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", mw.Boundary())
	return mw.FormDataContentType(), b.Bytes()
}

// TestHugePartHeaderRefused sends multipart uploads whose file part has a 9 MB header (which
// the multipart reader's defaults would read whole into memory): each is refused with 400,
// nothing is stored, and 20 at once do not make the server's peak RSS grow by more than 16
// MiB (they grew it by 296 MB before the part-header limit).
func TestHugePartHeaderRefused(t *testing.T) {
	s := startServeProcess(t, map[string]string{
		"VITRINE_JWT_SECRET": "a secret of this test only, long enough", "VITRINE_UPLOAD_BURST": "100",
		"VITRINE_UPLOAD_QUEUE_TIMEOUT": "5m", "VITRINE_WORKERS": "0",
	})
	photo, err := os.ReadFile(testphotos.Medium(t))
	if err != nil {
		t.Fatal(err)
	}
	contentType, body := hugeHeaderForm(photo)
	sp := s.newSupplier(t)
	// The server answers before reading the whole body and then closes the connection, so a
	// client still sending may see the connection reset instead of the answer (more often on
	// a loaded machine): send again until an answer arrives.
	a := s.postForm(sp, contentType, bytes.NewReader(body))
	for i := 0; a.err != nil && i < 50; i++ {
		a = s.postForm(sp, contentType, bytes.NewReader(body))
	}
	if a.status != 400 || a.code != "invalid" {
		t.Fatalf("a part with a 9 MB header: %v, want 400 invalid", a)
	}
	before := s.PeakRSS(t)
	var wg sync.WaitGroup
	answers := make(chan answer, 20)
	for range 20 {
		wg.Go(func() { answers <- s.postForm(sp, contentType, bytes.NewReader(body)) })
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		// The server answers before reading the whole body and then closes the connection,
		// so a client still sending may see the connection reset instead of the answer.
		if a.err == nil && (a.status != 400 || a.code != "invalid") {
			t.Errorf("a part with a 9 MB header: %v, want 400 invalid", a)
		}
	}
	peak := s.PeakRSS(t)
	t.Logf("peak RSS %d MiB before 20 concurrent huge part headers, %d MiB after", before>>20, peak>>20)
	if peak-before > 16<<20 {
		t.Errorf("peak RSS grew by %d MiB, want at most 16 MiB", (peak-before)>>20)
	}
	req, _ := http.NewRequest("GET", s.base+"/v1/products/"+sp.product+"/images", nil)
	req.Header.Set("Authorization", "Bearer "+sp.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Images []json.RawMessage }
	json.NewDecoder(resp.Body).Decode(&g)
	resp.Body.Close()
	if len(g.Images) != 0 {
		t.Errorf("%d images stored, want none", len(g.Images))
	}
	checkEmpty(t, filepath.Join(s.dataDir, "spool"))
	checkEmpty(t, filepath.Join(s.dataDir, "objects", ".tmp"))
	if _, err := os.Stat(filepath.Join(s.dataDir, "objects", "originals")); !os.IsNotExist(err) {
		t.Errorf("an original was stored (%v)", err)
	}
}

// heldReader reads r up to at bytes, then waits for release before reading the rest.
type heldReader struct {
	r       io.Reader
	at      int
	release <-chan struct{}
}

func (h *heldReader) Read(p []byte) (int, error) {
	if h.at == 0 {
		<-h.release
		h.at = -1
	}
	if h.at > 0 {
		p = p[:min(len(p), h.at)]
	}
	n, err := h.r.Read(p)
	if h.at > 0 {
		h.at -= n
	}
	return n, err
}

// TestUploadsBeyondTheLimitAreRefusedWith503 holds VITRINE_MAX_CONCURRENT_UPLOADS uploads in
// flight with clients that stop sending midway: further uploads wait
// VITRINE_UPLOAD_QUEUE_TIMEOUT for a slot, then get 503 unavailable with Retry-After, never
// a 500. Once the held uploads finish, they are stored, an upload is taken again, and no
// temporary file is left behind.
func TestUploadsBeyondTheLimitAreRefusedWith503(t *testing.T) {
	s := startServeProcess(t, map[string]string{
		"VITRINE_JWT_SECRET": "a secret of this test only, long enough", "VITRINE_UPLOAD_BURST": "100",
		"VITRINE_MAX_CONCURRENT_UPLOADS": "2", "VITRINE_UPLOAD_QUEUE_TIMEOUT": "1s",
		"VITRINE_UPLOAD_STALL_TIMEOUT": "10m", "VITRINE_WORKERS": "0",
	})
	photo, err := os.ReadFile(testphotos.Medium(t))
	if err != nil {
		t.Fatal(err)
	}
	form := newFileForm(photo)
	holder, prober := s.newSupplier(t), s.newSupplier(t)
	release := make(chan struct{})
	held := make(chan answer, 2)
	for range 2 {
		go func() {
			held <- s.postForm(holder, form.contentType, &heldReader{r: form.body(), at: 64 << 10, release: release})
		}()
	}
	// Until the held uploads have taken both slots, a probe may still get one.
	deadline := time.Now().Add(2 * time.Minute)
	for refused := false; !refused; {
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("no upload was refused while two were held in flight")
		}
		switch a := s.postForm(prober, form.contentType, form.body()); {
		case a.status == 503 && a.code == "unavailable" && a.retryAfter != "":
			refused = true
		case a.status != 201:
			t.Fatalf("an upload beyond the limit: %v, want 503 unavailable with Retry-After (or 201 while a slot was free)", a)
		}
	}
	close(release)
	for range 2 {
		if a := <-held; a.status != 201 {
			t.Errorf("a held upload: %v, want 201", a)
		}
	}
	if a := s.postForm(prober, form.contentType, form.body()); a.status != 201 {
		t.Errorf("an upload after the held ones ended: %v, want 201", a)
	}
	checkEmpty(t, filepath.Join(s.dataDir, "spool"))
	checkEmpty(t, filepath.Join(s.dataDir, "objects", ".tmp"))
}
