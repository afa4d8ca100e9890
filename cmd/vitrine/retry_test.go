package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

// waitStatus polls GET /v1/images/{id} until the image's thumbnail status is want.
func waitStatus(t *testing.T, base, token string, id uuid.UUID, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var im imageBody
		send(t, "GET", base+"/v1/images/"+id.String(), token, nil, "", &im)
		if im.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("image %s: status %q, never %q", id, im.Status, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRetryFailedThumbnails makes a thumbnail job fail for real in `vitrine serve` (its
// worker finds an original that cannot be decoded), retries it through the API once the
// original is good again, and sees it complete; it also checks the retries that are refused.
func TestRetryFailedThumbnails(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{"VITRINE_JWT_SECRET": tenantSecret})
	supplier := uuid.New()
	as, other := supplierToken(t, supplier), supplierToken(t, uuid.New())
	var p struct{ ID uuid.UUID }
	if resp := call(t, "POST", s.base+"/v1/products", as, map[string]any{"title": "Retried"}, &p); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	var first, second struct {
		imageBody
		SHA256 string `json:"sha256"`
	}
	if resp := uploadTo(t, s.base, as, p.ID, goImage(t, "video-001.jpeg"), &first); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	waitStatus(t, s.base, as, first.ID, "ready")
	retry := func(id uuid.UUID, token string) *http.Response {
		return send(t, "POST", s.base+"/v1/images/"+id.String()+"/retry", token, nil, "", nil)
	}
	if resp := retry(first.ID, as); resp.StatusCode != http.StatusConflict {
		t.Fatalf("retrying a ready image: %d, want 409", resp.StatusCode)
	}

	// The second image (no thumbnails at position 1) has its original replaced on disk by
	// bytes that cannot be decoded, then becomes the main image: its job fails at once.
	if resp := uploadTo(t, s.base, as, p.ID, goImage(t, "video-005.gray.jpeg"), &second); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	original := findObject(t, s.dataDir, second.SHA256)
	good, err := os.ReadFile(original)
	if err != nil {
		t.Fatal(err)
	}
	garbage := append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte("not a jpeg at all "), 500)...)
	if err := os.WriteFile(original, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	if resp := call(t, "POST", s.base+"/v1/images/"+second.ID.String()+"/position", as, map[string]int{"position": 0}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("move: %d", resp.StatusCode)
	}
	waitStatus(t, s.base, as, second.ID, "failed")

	if resp := retry(second.ID, other); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another supplier retrying an image of an unpublished product: %d, want 404", resp.StatusCode)
	}
	if err := os.WriteFile(original, good, 0o600); err != nil {
		t.Fatal(err)
	}
	var retried imageBody
	if resp := send(t, "POST", s.base+"/v1/images/"+second.ID.String()+"/retry", as, nil, "", &retried); resp.StatusCode != http.StatusAccepted || retried.Status != "pending" {
		t.Fatalf("retrying the failed image: %d, status %q; want 202, pending", resp.StatusCode, retried.Status)
	}
	waitStatus(t, s.base, as, second.ID, "ready")
}

// findObject returns the path of the stored original whose SHA-256 is sum, under dir.
func findObject(t *testing.T, dir, sum string) string {
	t.Helper()
	var found string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Base(filepath.Dir(filepath.Dir(path))) == "originals" &&
			len(d.Name()) > len(sum) && d.Name()[:len(sum)] == sum {
			found = path
		}
		return nil
	})
	if err != nil || found == "" {
		t.Fatalf("no original %s under %s (%v)", sum, dir, err)
	}
	return found
}
