package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// TestMainImageURLFollowsTheGallery runs `vitrine serve` with its worker making AVIF, WebP and
// JPEG variants of real photographs: the product's main-image URL redirects to the variant the
// Accept header allows best, serves it, and follows a reorder and a move to the front once the
// new main image's thumbnails are made.
func TestMainImageURLFollowsTheGallery(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{"VITRINE_JWT_SECRET": "main-image-test-secret-0123456789abcdef",
		"VITRINE_THUMBNAIL_FORMATS": "webp,jpeg,avif", "VITRINE_PRESETS": "minithumb:48,mobile:96,tablet:128,desktop:160",
		"VITRINE_LOG_LEVEL": "warn"})
	token := s.mint(t, gallery.Supplier(uuid.New()))
	send := func(method, path, accept string, body io.Reader, contentType string, out any) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, path, body)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(path, "http") {
			req.URL, _ = req.URL.Parse(s.base + path)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if out != nil {
			_ = json.Unmarshal(data, out)
		}
		res.Body = io.NopCloser(bytes.NewReader(data))
		return res
	}
	var product struct{ ID uuid.UUID }
	if res := send("POST", "/v1/products", "", strings.NewReader(`{}`), "application/json", &product); res.StatusCode != 201 {
		t.Fatalf("creating the product: %d", res.StatusCode)
	}
	photos, err := testphotos.Photographs()
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, path := range photos[:2] {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "photo.jpg")
		fw.Write(data)
		mw.Close()
		var im struct{ ID uuid.UUID }
		if res := send("POST", "/v1/products/"+product.ID.String()+"/images", "", &buf, mw.FormDataContentType(), &im); res.StatusCode != 201 {
			t.Fatalf("uploading: %d", res.StatusCode)
		}
		ids = append(ids, im.ID)
	}
	mainURL := "/v1/products/" + product.ID.String() + "/main/mobile"
	// variantURL is the URL of image id's mobile variant in format, once its thumbnails are made.
	variantURL := func(id uuid.UUID, format string) string {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var im struct {
				Status   string                                     `json:"status"`
				Variants map[string]map[string]struct{ URL string } `json:"variants"`
			}
			send("GET", "/v1/images/"+id.String(), "", nil, "", &im)
			if im.Status == "ready" {
				return im.Variants["mobile"][format].URL
			}
			if im.Status == "failed" || time.Now().After(deadline) {
				t.Fatalf("image %s's thumbnails: %s", id, im.Status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// redirect waits until the main-image URL redirects to want, answering variant_not_ready
	// meanwhile.
	redirect := func(accept, want string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			var e struct{ Error struct{ Code string } }
			res := send("GET", mainURL, accept, nil, "", &e)
			switch {
			case res.StatusCode == 302 && res.Header.Get("Location") == want:
				return
			case res.StatusCode == 404 && e.Error.Code == "variant_not_ready" && res.Header.Get("Retry-After") != "":
			case res.StatusCode != 302:
				t.Fatalf("the main image: %d %q", res.StatusCode, e.Error.Code)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the main image still redirects to %q, want %q", res.Header.Get("Location"), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	firstAVIF := variantURL(ids[0], "avif")
	redirect("image/avif,image/webp,image/apng,image/*,*/*;q=0.8", firstAVIF)
	for _, c := range []struct{ accept, format, mediaType, magic string }{
		{"", "avif", "image/avif", "ftypavif"},
		{"image/webp,image/*;q=0.8", "webp", "image/webp", "WEBP"},
		{"image/avif;q=0,image/webp;q=0,image/*", "jpeg", "image/jpeg", "\xff\xd8\xff"},
	} {
		res := send("GET", mainURL, c.accept, nil, "", nil)
		if res.StatusCode != 302 || res.Header.Get("Location") != variantURL(ids[0], c.format) || !strings.Contains(res.Header.Get("Vary"), "Accept") {
			t.Fatalf("Accept %q: %d to %q", c.accept, res.StatusCode, res.Header.Get("Location"))
		}
		v := send("GET", res.Header.Get("Location"), "", nil, "", nil)
		data, _ := io.ReadAll(v.Body)
		if v.StatusCode != 200 || v.Header.Get("Content-Type") != c.mediaType || !bytes.Contains(data[:min(len(data), 16)], []byte(c.magic)) {
			t.Errorf("the %s variant: %d %q, %d bytes", c.format, v.StatusCode, v.Header.Get("Content-Type"), len(data))
		}
	}
	if res := send("HEAD", mainURL, "image/webp", nil, "", nil); res.StatusCode != 302 || res.Header.Get("Location") != variantURL(ids[0], "webp") {
		t.Errorf("HEAD: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}

	// A reorder makes the second photograph main: the URL follows once its variants are made.
	order, _ := json.Marshal(map[string]any{"ids": []uuid.UUID{ids[1], ids[0]}})
	if res := send("PUT", "/v1/products/"+product.ID.String()+"/images/order", "", bytes.NewReader(order), "application/json", nil); res.StatusCode != 200 {
		t.Fatalf("reordering: %d", res.StatusCode)
	}
	redirect("image/avif,image/webp", variantURL(ids[1], "avif"))
	if variantURL(ids[1], "avif") == firstAVIF {
		t.Fatal("two photographs have one variant")
	}
	// Making the first one main again moves the URL back.
	if res := send("POST", "/v1/images/"+ids[0].String()+"/position", "", strings.NewReader(`{"position": 0}`), "application/json", nil); res.StatusCode != 200 {
		t.Fatalf("moving: %d", res.StatusCode)
	}
	redirect("image/webp", variantURL(ids[0], "webp"))
}
