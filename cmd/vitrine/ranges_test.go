package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// request sends a request to s with the service token and headers (name, value pairs), and
// returns the status, the response's headers and its body.
func (s *served) request(t *testing.T, method, path string, body io.Reader, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
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
	return resp.StatusCode, resp.Header, data
}

// uploadPhoto creates a product and uploads photo to it with alt, returning the image's id
// and the path of its original under /objects/.
func (s *served) uploadPhoto(t *testing.T, photo []byte, alt string) (id, productID, objectPath string) {
	t.Helper()
	st, _, data := s.request(t, "POST", "/v1/products", strings.NewReader(`{"supplier_id":"7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`), "Content-Type", "application/json")
	var p struct{ ID string }
	if err := json.Unmarshal(data, &p); st != http.StatusCreated || err != nil {
		t.Fatalf("creating a product: %d %s", st, data)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if alt != "" {
		mw.WriteField("alt", alt)
	}
	fw, _ := mw.CreateFormFile("file", "photo.jpg")
	fw.Write(photo)
	mw.Close()
	st, _, data = s.request(t, "POST", "/v1/products/"+p.ID+"/images", &body, "Content-Type", mw.FormDataContentType())
	var im struct{ ID, URL string }
	if err := json.Unmarshal(data, &im); st != http.StatusCreated || err != nil {
		t.Fatalf("uploading: %d %s", st, data)
	}
	_, objectPath, _ = strings.Cut(im.URL, s.base)
	return im.ID, p.ID, objectPath
}

// ranges returns a Range header of n one-byte ranges, every other byte from 0.
func ranges(n int) string {
	var b strings.Builder
	b.WriteString("bytes=")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d-%d", 2*i, 2*i)
	}
	return b.String()
}

// TestManyRangesAreNotServed attacks /objects/{key} of a `vitrine serve` process, without a
// token, with 70,000 one-byte ranges (the header is refused as too large) and 4,000 (under the
// header limit: the whole object is served, as without a Range header): each answer is
// bounded by the object's size and the process spends a small fraction of a CPU-second on
// each, where it spent 7-9 CPU-seconds serving every range. Normal range requests still get
// 206.
func TestManyRangesAreNotServed(t *testing.T) {
	t.Parallel()
	photo, err := os.ReadFile(testphotos.Medium(t))
	if err != nil {
		t.Fatal(err)
	}
	s := startServeProcess(t, map[string]string{"VITRINE_WORKERS": "0"})
	_, _, path := s.uploadPhoto(t, photo, "")
	anon := func(header ...string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, data
	}
	st, _, whole := anon()
	if st != http.StatusOK || len(whole) < 200_000 {
		t.Fatalf("GET %s: %d, %d bytes", path, st, len(whole))
	}

	// Normal ranges.
	if st, _, got := anon("Range", "bytes=0-99"); st != http.StatusPartialContent || !bytes.Equal(got, whole[:100]) {
		t.Fatalf("one range: %d, %d bytes, want 206 with the first 100 bytes", st, len(got))
	}
	st, h, got := anon("Range", "bytes=0-9,1000-1009,-10")
	if st != http.StatusPartialContent {
		t.Fatalf("three ranges: %d, want 206", st)
	}
	_, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	mr := multipart.NewReader(bytes.NewReader(got), params["boundary"])
	for _, want := range [][]byte{whole[:10], whole[1000:1010], whole[len(whole)-10:]} {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(part); !bytes.Equal(b, want) {
			t.Fatalf("a part of a three-range answer is %q, want %q", b, want)
		}
	}

	cpu := s.CPUTime(t)
	const attacks = 4
	for range attacks {
		st, _, got := anon("Range", ranges(70_000))
		if st != http.StatusRequestHeaderFieldsTooLarge && !(st == http.StatusOK && bytes.Equal(got, whole)) {
			t.Fatalf("70,000 ranges: %d, %d bytes, want 431, or 200 with the whole object", st, len(got))
		}
		st, h, got = anon("Range", ranges(4_000))
		if st != http.StatusOK || !bytes.Equal(got, whole) || h.Get("Content-Range") != "" {
			t.Fatalf("4,000 ranges: %d, %d bytes, want 200 with the whole object (%d bytes)", st, len(got), len(whole))
		}
		// Overlapping ranges, fewer than the limit: the whole object too.
		st, _, got = anon("Range", "bytes=0-1000,500-1500")
		if st != http.StatusOK || !bytes.Equal(got, whole) {
			t.Fatalf("overlapping ranges: %d, %d bytes, want 200 with the whole object", st, len(got))
		}
	}
	spent := s.CPUTime(t) - cpu
	// Serving 70,000 ranges took 7-9 CPU-seconds a request; these 12 requests take a few
	// milliseconds each. A wide margin for a busy machine:
	if spent > attacks*time.Second {
		t.Fatalf("%d rounds of range attacks cost the server %v of CPU", attacks, spent)
	}
	t.Logf("%d rounds of range attacks (70,000, 4,000 and 2 overlapping ranges) cost %v of CPU", attacks, spent)
}
