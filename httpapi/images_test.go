package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// goroot returns a path inside Go's source tree, whose image testdata holds real photographs
// (video-001.*) and the PNG suite.
func goroot(parts ...string) string {
	return filepath.Join(append([]string{runtime.GOROOT(), "src", "image"}, parts...)...)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noisy returns an image whose pixels are pseudo-random, so that it compresses badly.
func noisy(w, h int) image.Image {
	rng := rand.New(rand.NewPCG(1, 2))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = byte(rng.Uint32())
	}
	return m
}

func encode(t *testing.T, format string, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, m)
	case "jpeg":
		err = jpeg.Encode(&buf, m, &jpeg.Options{Quality: 85})
	case "gif":
		err = gif.Encode(&buf, m, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// validImages returns real images by name: Go's encoders' output and files of Go's source tree.
func validImages(t *testing.T) map[string][]byte {
	t.Helper()
	grad := image.NewRGBA(image.Rect(0, 0, 320, 200))
	for y := range 200 {
		for x := range 320 {
			grad.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	out := map[string][]byte{
		"encoded.png":  encode(t, "png", grad),
		"encoded.jpeg": encode(t, "jpeg", grad),
		"encoded.gif":  encode(t, "gif", grad),
	}
	for _, name := range []string{"video-001.jpeg", "video-001.progressive.jpeg", "video-001.png",
		"video-001.gif", "video-001.interlaced.gif", "video-001.cmyk.jpeg", "video-001.restart2.jpeg",
		"video-005.gray.jpeg", "video-001.rgb.png"} {
		out[name] = readFile(t, goroot("testdata", name))
	}
	suite, err := filepath.Glob(goroot("png", "testdata", "pngsuite", "*.png"))
	if err != nil || len(suite) == 0 {
		t.Fatalf("no PNG suite in Go's source tree: %v", err)
	}
	for _, p := range suite {
		if !strings.HasPrefix(filepath.Base(p), "x") {
			out["pngsuite/"+filepath.Base(p)] = readFile(t, p)
		}
	}
	return out
}

func TestUploadValidImagesAreStoredAndListed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	productID := b.createProduct(t)
	images := validImages(t)
	var uploaded []imageBody
	originals := map[uuid.UUID][]byte{}
	for name, data := range images {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: Go cannot read it: %v", name, err)
		}
		var im imageBody
		if st := b.upload(t, productID, data, "alt of "+name, &im); st != http.StatusCreated {
			t.Fatalf("%s: status %d, want 201", name, st)
		}
		// The stored original may be smaller: its metadata is stripped (see imagestrip).
		if im.Width != cfg.Width || im.Height != cfg.Height || im.MediaType != "image/"+format ||
			im.Bytes > int64(len(data)) || im.Alt != "alt of "+name {
			t.Errorf("%s: got %+v, want %dx%d image/%s of at most %d bytes", name, im, cfg.Width, cfg.Height, format, len(data))
		}
		originals[im.ID] = data
		if im.Position != len(uploaded) {
			t.Errorf("%s: position %d, want %d", name, im.Position, len(uploaded))
		}
		uploaded = append(uploaded, im)
	}

	var g galleryBody
	if st := b.doJSON(t, "GET", "/v1/products/"+productID.String()+"/images", nil, &g); st != http.StatusOK {
		t.Fatalf("listing: %d", st)
	}
	if len(g.Images) != len(uploaded) {
		t.Fatalf("gallery has %d images, want %d", len(g.Images), len(uploaded))
	}
	for i, im := range g.Images {
		if im.ID != uploaded[i].ID || im.Position != i {
			t.Fatalf("gallery position %d holds %s, want %s", i, im.ID, uploaded[i].ID)
		}
	}
	// Each original is served from its URL, with the size and hash the API reports (invariant
	// 2), and it is the same picture as the upload, pixel for pixel.
	for _, im := range uploaded {
		resp, err := http.Get(im.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(got)
		if resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != im.SHA256 || int64(len(got)) != im.Bytes || resp.Header.Get("Content-Type") != im.MediaType {
			t.Errorf("GET %s: %d %s, %d bytes, sha256 %x, want %s of %d bytes", im.URL, resp.StatusCode, resp.Header.Get("Content-Type"), len(got), sum, im.SHA256, im.Bytes)
			continue
		}
		want, _, err1 := image.Decode(bytes.NewReader(originals[im.ID]))
		have, _, err2 := image.Decode(bytes.NewReader(got))
		if err1 != nil || err2 != nil || !samePixels(want, have) {
			t.Errorf("%s: the stored original is not the uploaded picture (%v, %v)", im.URL, err1, err2)
		}
	}
}

func TestUploadSameBytesTwiceKeepsOneObject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	productID := b.createProduct(t)
	data := readFile(t, goroot("testdata", "video-001.jpeg"))
	var first, second imageBody
	b.upload(t, productID, data, "", &first)
	b.upload(t, productID, data, "", &second)
	if first.ID == second.ID || first.URL != second.URL || second.Position != 1 {
		t.Fatalf("two uploads of the same bytes: %+v and %+v", first, second)
	}
	n := 0
	for _, err := range b.store.List(t.Context(), "", "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d objects for one content, want 1", n)
	}
}

func TestRefusedUploadsLeaveNothingBehind(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.maxBytes = 100 << 10 })
	productID := b.createProduct(t)
	valid := readFile(t, goroot("testdata", "video-001.jpeg"))
	validPNG := readFile(t, goroot("testdata", "video-001.png"))

	type bad struct {
		name   string
		data   []byte
		status int
		code   string
	}
	cases := []bad{
		{"empty", nil, 415, "unsupported_media"},
		{"text", []byte("hello, this is not an image\n"), 415, "unsupported_media"},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>`), 415, "unsupported_media"},
		{"html", []byte("<!doctype html><html><body>hi</body></html>"), 415, "unsupported_media"},
		{"pdf", []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"), 415, "unsupported_media"},
		{"jpeg cut in half", valid[:len(valid)/2], 422, "corrupt_image"},
		{"jpeg without its last byte", valid[:len(valid)-1], 422, "corrupt_image"},
		{"png cut in half", validPNG[:len(validPNG)/2], 422, "corrupt_image"},
		{"png header only", validPNG[:33], 422, "corrupt_image"},
		{"too large", encode(t, "png", noisy(200, 200)), 413, "too_large"},
		// A 34-byte GIF that declares 65535x65535 pixels: refused from its header.
		{"gif bomb", append([]byte("GIF89a\xff\xff\xff\xff\x00\x00\x00"), []byte("\x2c\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x44\x01\x00\x3b")...), 422, "too_many_pixels"},
	}
	// Broken PNGs of Go's source tree, which Go's own decoder refuses too.
	for _, p := range []string{goroot("png", "testdata", "invalid-crc32.png"), goroot("png", "testdata", "invalid-noend.png"),
		goroot("png", "testdata", "invalid-trunc.png"), goroot("png", "testdata", "invalid-zlib.png")} {
		data := readFile(t, p)
		if _, _, err := image.Decode(bytes.NewReader(data)); err == nil {
			t.Fatalf("%s: Go decodes it, so it is no broken file", p)
		}
		cases = append(cases, bad{filepath.Base(p), data, 422, "corrupt_image"})
	}
	for name, data := range corruptPNGSuite(t) {
		st, code := 422, "corrupt_image"
		// Files whose signature is damaged are not recognisable as PNG at all.
		if strings.HasPrefix(name, "xs") || strings.HasPrefix(name, "xcr") || strings.HasPrefix(name, "xlf") {
			st, code = 415, "unsupported_media"
		}
		cases = append(cases, bad{name, data, st, code})
	}
	for _, c := range cases {
		var e apiError
		if st := b.upload(t, productID, c.data, "", &e); st != c.status || e.Error.Code != c.code {
			t.Errorf("%s: %d %q (%s), want %d %q", c.name, st, e.Error.Code, e.Error.Message, c.status, c.code)
		}
	}

	// Malformed requests.
	for _, c := range []struct {
		name   string
		fields [][2]string
	}{
		{"no file field", [][2]string{{"alt", "x"}}},
		{"two files", [][2]string{{"file", string(valid)}, {"file2", string(valid)}}},
		{"unknown field", [][2]string{{"file", string(valid)}, {"color", "red"}}},
		{"alt too long", [][2]string{{"file", string(valid)}, {"alt", strings.Repeat("é", 1001)}}},
	} {
		body, ct := multipartBody(t, c.fields...)
		var e apiError
		if st := b.do(t, "POST", "/v1/products/"+productID.String()+"/images", body, ct, &e); st != 400 {
			t.Errorf("%s: %d %+v, want 400", c.name, st, e)
		}
	}
	if st := b.do(t, "POST", "/v1/products/"+productID.String()+"/images", bytes.NewReader(valid), "image/jpeg", nil); st != 400 {
		t.Errorf("a raw body instead of a form: %d, want 400", st)
	}
	if st := b.upload(t, uuid.New(), valid, "", nil); st != 404 {
		t.Errorf("upload to a missing product: %d, want 404", st)
	}
	if st := b.upload(t, uuid.Nil, valid, "", nil); st != 404 {
		t.Errorf("upload to the nil product: %d, want 404", st)
	}
	b.assertNothingStored(t)
}

func TestTooManyPixelsIsRefusedFromTheHeader(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.maxPixels = 10_000 })
	productID := b.createProduct(t)
	var e apiError
	if st := b.upload(t, productID, encode(t, "png", noisy(101, 100)), "", &e); st != 422 || e.Error.Code != "too_many_pixels" {
		t.Fatalf("10,100 pixels over a 10,000 limit: %d %+v", st, e)
	}
	if st := b.upload(t, productID, encode(t, "png", noisy(100, 100)), "", nil); st != 201 {
		t.Fatalf("exactly 10,000 pixels: %d, want 201", st)
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}
