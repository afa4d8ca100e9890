package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// lockedWriter lets the server goroutine and the test share a log buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestQuickstartServesWithPrivateCluster runs `vitrine serve` as a user would on a fresh
// machine, with no DATABASE_URL: it starts a private PostgreSQL cluster under the data
// directory, migrates it, takes an upload, and on SIGINT (here: its context ending) stops the
// server and the cluster.
func TestQuickstartServesWithPrivateCluster(t *testing.T) {
	dir := t.TempDir()
	// The postgres user must reach the data directory when the tests run as root.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logBuf bytes.Buffer
	logs := &lockedWriter{w: &logBuf}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, env(map[string]string{
			"VITRINE_ADDR": addr, "VITRINE_DATA_DIR": filepath.Join(dir, "var"),
		}), io.Discard, logs)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(90 * time.Second)
	var token string
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			logs.mu.Lock()
			var ok bool
			token, ok = logValue(logBuf.String(), "dev_token")
			logs.mu.Unlock()
			if !ok {
				t.Fatal("dev mode printed no dev token")
			}
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not come up")
		}
		time.Sleep(100 * time.Millisecond)
	}

	post := func(path, contentType string, body io.Reader) (*http.Response, error) {
		req, _ := http.NewRequest("POST", base+path, body)
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+token)
		return http.DefaultClient.Do(req)
	}
	if resp, err := http.Post(base+"/v1/products", "application/json", strings.NewReader(`{"supplier_id":"7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`)); err != nil || resp.StatusCode != 401 {
		t.Fatalf("creating a product without a token: %v %v, want 401", resp.StatusCode, err)
	}
	resp, err := post("/v1/products", "application/json", strings.NewReader(`{"supplier_id":"7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`))
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "photo.jpeg")
	photo, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", "video-001.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(photo)
	mw.Close()
	resp, err = post("/v1/products/"+p.ID+"/images", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var im struct {
		URL      string
		Position int
	}
	json.NewDecoder(resp.Body).Decode(&im)
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.HasPrefix(im.URL, base+"/objects/originals/") {
		t.Fatalf("upload: %d %+v", resp.StatusCode, im)
	}
	resp, err = http.Get(im.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, photo) {
		t.Fatalf("served %d bytes, want the %d uploaded", len(got), len(photo))
	}

	// River's job UI answers loopback clients (no admin password is set).
	resp, err = http.Get(base + "/admin/jobs/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(strings.ToLower(string(page)), "<html") {
		t.Fatalf("GET /admin/jobs/: %d %.200q", resp.StatusCode, page)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := os.Stat(filepath.Join(dir, "var", "pg", "data", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("the private cluster still runs (postmaster.pid: %v)\n%s", err, logBuf.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the server still answers after shutdown")
	}
}
