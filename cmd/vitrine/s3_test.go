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
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
)

// TestServeWithS3Storage runs `vitrine serve` with VITRINE_STORAGE=s3 against a real
// versitygw: an upload through the API lands in the bucket, its URL is Vitrine's own
// /objects/{key}, which redirects to a presigned URL of the bucket that serves the bytes,
// and the thumbnail worker reads the original from the bucket and writes its variants there.
func TestServeWithS3Storage(t *testing.T) {
	t.Parallel()
	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	srv := startServe(t, map[string]string{
		"VITRINE_STORAGE": "s3", "VITRINE_S3_ENDPOINT": gw.Endpoint, "VITRINE_S3_REGION": gw.Region,
		"VITRINE_S3_BUCKET": bucket, "VITRINE_S3_PATH_STYLE": "true",
		"VITRINE_S3_ACCESS_KEY_ID": gw.AccessKey, "VITRINE_S3_SECRET_ACCESS_KEY": gw.SecretKey,
		"VITRINE_S3_PRESIGN_EXPIRY": "2m",
	})
	photo := readPhoto(t)
	im := srv.upload(t, photo)
	key, ok := strings.CutPrefix(im.URL, srv.base+"/objects/")
	if !ok || !strings.HasPrefix(key, "originals/") {
		t.Fatalf("image URL %q is not under %s/objects/originals/", im.URL, srv.base)
	}
	head, err := gw.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil || *head.ContentLength != im.Bytes || *head.ContentType != "image/jpeg" {
		t.Fatalf("the original in the bucket: %+v, %v", head, err)
	}
	if _, err := os.Stat(filepath.Join(srv.dataDir, "objects")); !os.IsNotExist(err) {
		t.Errorf("the local object directory exists with S3 storage: %v", err)
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(im.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, gw.Endpoint+"/"+bucket+"/"+key+"?") ||
		!strings.Contains(loc, "X-Amz-Expires=120") || resp.Header.Get("Cache-Control") != "private, max-age=60" {
		t.Fatalf("GET %s: %d, Location %q, Cache-Control %q", im.URL, resp.StatusCode, loc, resp.Header.Get("Cache-Control"))
	}
	if got := httpGet(t, im.URL); !bytes.Equal(got, photo) {
		t.Fatalf("following the redirect gave %d bytes, want the %d uploaded", len(got), len(photo))
	}

	// The worker makes the thumbnails from the bucket, into the bucket.
	var ready struct {
		Status       string
		ThumbnailURL string `json:"thumbnail_url"`
		LastError    string `json:"last_error"`
	}
	deadline := time.Now().Add(2 * time.Minute)
	for ready.Status != "ready" {
		if time.Now().After(deadline) || ready.Status == "failed" {
			t.Fatalf("thumbnails: %+v", ready)
		}
		time.Sleep(100 * time.Millisecond)
		srv.getJSON(t, "/v1/images/"+im.ID, &ready)
	}
	variant, ok := strings.CutPrefix(ready.ThumbnailURL, srv.base+"/objects/")
	if !ok {
		t.Fatalf("thumbnail URL %q", ready.ThumbnailURL)
	}
	if _, err := gw.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &variant}); err != nil {
		t.Fatalf("the desktop variant is not in the bucket: %v", err)
	}
	if len(httpGet(t, ready.ThumbnailURL)) == 0 {
		t.Fatal("the desktop variant is empty")
	}
}

// With VITRINE_S3_PUBLIC_URL, objects' URLs point at the bucket's public address.
func TestServeWithS3PublicURL(t *testing.T) {
	t.Parallel()
	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, bucket)
	if _, err := gw.Client().PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: &bucket, Policy: &policy}); err != nil {
		t.Fatalf("making the bucket public: %v", err)
	}
	public := gw.Endpoint + "/" + bucket
	srv := startServe(t, map[string]string{
		"VITRINE_STORAGE": "s3", "VITRINE_S3_ENDPOINT": gw.Endpoint, "VITRINE_S3_BUCKET": bucket, "VITRINE_S3_PATH_STYLE": "true",
		"AWS_ACCESS_KEY_ID": gw.AccessKey, "AWS_SECRET_ACCESS_KEY": gw.SecretKey, "VITRINE_S3_PUBLIC_URL": public + "/",
		"VITRINE_WORKERS": "0",
	})
	photo := readPhoto(t)
	im := srv.upload(t, photo)
	if !strings.HasPrefix(im.URL, public+"/originals/") {
		t.Fatalf("image URL %q is not under %s/", im.URL, public)
	}
	if got := httpGet(t, im.URL); !bytes.Equal(got, photo) {
		t.Fatalf("the public URL served %d bytes, want the %d uploaded", len(got), len(photo))
	}
	key := strings.TrimPrefix(im.URL, public+"/")
	if got := httpGet(t, srv.base+"/objects/"+key); !bytes.Equal(got, photo) {
		t.Fatalf("/objects/ served %d bytes, want the %d uploaded", len(got), len(photo))
	}
}

// A bucket that cannot be reached stops `vitrine serve` at start, saying so.
func TestServeRefusesUnreachableBucket(t *testing.T) {
	t.Parallel()
	gw := s3test.Start(t)
	owner := pgtest.NewDB(t)
	err := run(context.Background(), []string{"serve"}, env(map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner, "VITRINE_DATA_DIR": t.TempDir(),
		"VITRINE_ADDR": "127.0.0.1:0", "VITRINE_STORAGE": "s3", "VITRINE_S3_ENDPOINT": gw.Endpoint, "VITRINE_S3_BUCKET": "no-such-bucket",
		"VITRINE_S3_PATH_STYLE": "true", "VITRINE_S3_ACCESS_KEY_ID": gw.AccessKey, "VITRINE_S3_SECRET_ACCESS_KEY": gw.SecretKey,
		"VITRINE_S3_MAX_RETRIES": "0",
	}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "S3 bucket") {
		t.Fatalf("serve with a missing bucket: %v", err)
	}
}

// served is a `vitrine serve` running for a test.
// uploadedImage is what the API answers for an upload.
type uploadedImage struct {
	ID    string
	URL   string
	Bytes int64
}

// upload creates a product and uploads data as its first image.
func (s *served) upload(t *testing.T, data []byte) uploadedImage {
	t.Helper()
	post := func(path, contentType string, body io.Reader, v any) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.base+path, body)
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	var p struct{ ID string }
	post("/v1/products", "application/json", strings.NewReader(`{"supplier_id":"7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`), &p)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "photo.jpeg")
	fw.Write(data)
	mw.Close()
	var im uploadedImage
	post("/v1/products/"+p.ID+"/images", mw.FormDataContentType(), &body, &im)
	return im
}

// getJSON decodes the answer to an authorized GET of path into v.
func (s *served) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
}

// readPhoto returns a JPEG without metadata, which uploads store as is.
func readPhoto(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", "video-001.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// httpGet returns the body of a successful GET of url, following redirects.
func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %.200s", url, resp.StatusCode, err, b)
	}
	return b
}
