package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"testing"
	"time"

	"golang.org/x/image/webp"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testheif"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// heifImage is what TestHEIFUploadsEndToEnd reads of an image from the API.
type heifImage struct {
	ID        string `json:"id"`
	URL       string `json:"url"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	MediaType string `json:"media_type"`
	Status    string `json:"status"`
	LastError string `json:"last_error"`
	Variants  map[string]map[string]struct {
		URL           string `json:"url"`
		Width, Height int
	} `json:"variants"`
}

// TestHEIFUploadsEndToEnd uploads the same 12 MP photograph as a JPEG and as each HEIF of
// testphotos (HEIC, with GPS, turned by irot with an EXIF orientation too, Display P3 by ICC
// profile and by nclx, a grid of tiles, AVIF) through POST /v1/products/{id}/images of a
// served process whose worker makes the thumbnails. Each is accepted with its type and
// stored size; the stored original has no EXIF GPS left; every WebP variant is the size of
// the JPEG's and within testphotos.MaxCellDifference of its colours: upright, and in sRGB.
func TestHEIFUploadsEndToEnd(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{"VITRINE_JWT_SECRET": tenantSecret})
	photos := []struct {
		name, mediaType string
		path            func(testing.TB) string
		stored          bool // stored a quarter turn from upright
	}{
		{"jpeg", "image/jpeg", testphotos.IPhoneJPEG, false},
		{"heic", "image/heic", testphotos.HEIC, false},
		{"heic with gps", "image/heic", testphotos.HEICWithGPS, false},
		{"irot and exif orientation", "image/heic", testphotos.HEICRotated, true},
		{"display p3 icc", "image/heic", testphotos.HEICDisplayP3, false},
		{"display p3 nclx", "image/heic", testphotos.HEICNclxP3, false},
		{"grid of 512 tiles", "image/heic", testphotos.HEICGrid, false},
		{"avif", "image/avif", testphotos.AVIF, false},
	}
	ids := make([]string, len(photos))
	for i, ph := range photos {
		data, err := os.ReadFile(ph.path(t))
		if err != nil {
			t.Fatal(err)
		}
		sp := s.newSupplier(t) // a product each: each image is its product's main image
		im := s.uploadFile(t, sp, data)
		// The API gives the size as stored, before any turn (as for a JPEG's EXIF orientation).
		w, h := testphotos.IPhoneWidth, testphotos.IPhoneHeight
		if ph.stored {
			w, h = h, w
		}
		if im.MediaType != ph.mediaType || im.Width != w || im.Height != h {
			t.Fatalf("%s: uploaded as %s %dx%d, want %s %dx%d", ph.name, im.MediaType, im.Width, im.Height, ph.mediaType, w, h)
		}
		original := s.get(t, im.URL)
		for _, m := range testheif.Markers[:4] { // the EXIF block's TIFF header, its GPS IFD
			if bytes.Contains(original, []byte(m)) {
				t.Errorf("%s: the stored original still holds %q", ph.name, m)
			}
		}
		if ph.name == "heic with gps" && !bytes.Contains(data, []byte(testheif.Markers[1])) {
			t.Fatalf("%s: the upload holds no GPS IFD to remove", ph.name)
		}
		ids[i] = im.ID
	}

	ready := make([]heifImage, len(photos))
	for i, id := range ids {
		ready[i] = s.waitThumbnails(t, id)
	}
	if len(ready[0].Variants) != 4 {
		t.Fatalf("the JPEG has variants of %d presets, want 4", len(ready[0].Variants))
	}
	for i, ph := range photos[1:] {
		im := ready[i+1]
		for preset, formats := range ready[0].Variants {
			want := s.decodeWebP(t, formats["webp"].URL)
			got := s.decodeWebP(t, im.Variants[preset]["webp"].URL)
			d, ok := testphotos.CellDifference(got, want)
			switch {
			case !ok:
				t.Errorf("%s: %s is %v, the JPEG's %v", ph.name, preset, got.Bounds(), want.Bounds())
			case d > testphotos.MaxCellDifference:
				t.Errorf("%s: %s is %.2f levels from the JPEG's, over %.1f", ph.name, preset, d, testphotos.MaxCellDifference)
			}
		}
	}
}

// uploadFile posts data as sp's product's image and returns the image.
func (s *served) uploadFile(t *testing.T, sp supplier, data []byte) heifImage {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "photo")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", s.base+"/v1/products/"+sp.product+"/images", &buf)
	req.Header.Set("Authorization", "Bearer "+sp.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var im heifImage
	if st := s.doJSON(t, req, &im); st != 201 {
		t.Fatalf("upload: %d", st)
	}
	return im
}

// waitThumbnails polls the image until its thumbnails are made.
func (s *served) waitThumbnails(t *testing.T, id string) heifImage {
	t.Helper()
	token := s.mint(t, gallery.Service())
	deadline := time.Now().Add(5 * time.Minute)
	for {
		req, _ := http.NewRequest("GET", s.base+"/v1/images/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		var im heifImage
		if st := s.doJSON(t, req, &im); st != 200 {
			t.Fatalf("image %s: %d", id, st)
		}
		switch {
		case im.Status == string(gallery.StatusReady):
			return im
		case im.Status == string(gallery.StatusFailed):
			t.Fatalf("image %s: thumbnails failed: %s", id, im.LastError)
		case time.Now().After(deadline):
			t.Fatalf("image %s: thumbnails not made after 5 minutes: %+v", id, im)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *served) doJSON(t *testing.T, req *http.Request, out any) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, out); err != nil && resp.StatusCode < 300 {
		t.Fatalf("%s %s: %v\n%s", req.Method, req.URL, err, body)
	}
	return resp.StatusCode
}

// get returns the body of a public URL of the server (an object).
func (s *served) get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}

func (s *served) decodeWebP(t *testing.T, url string) image.Image {
	t.Helper()
	img, err := webp.Decode(bytes.NewReader(s.get(t, url)))
	if err != nil {
		t.Fatal(fmt.Errorf("decoding %s: %w", url, err))
	}
	return img
}
