package main

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/sseclient"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// TestThumbnailStatusReachesStreamsFromAWorkProcess serves the API without workers and works
// the jobs in a separate `vitrine work` process: an image's thumbnail job, worked there,
// reaches a stream of the serving process as it goes: created (pending), processing, then
// thumbnails recorded and ready.
func TestThumbnailStatusReachesStreamsFromAWorkProcess(t *testing.T) {
	t.Parallel()
	owner := pgtest.NewDB(t)
	dbEnv := map[string]string{"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner}
	s := startServe(t, map[string]string{"DATABASE_URL": dbEnv["DATABASE_URL"],
		"VITRINE_MIGRATE_DATABASE_URL": owner, "VITRINE_WORKERS": "0"})

	st, _, data := s.request(t, "POST", "/v1/products", strings.NewReader(`{"supplier_id":"7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`), "Content-Type", "application/json")
	var p struct{ ID string }
	if err := json.Unmarshal(data, &p); st != http.StatusCreated || err != nil {
		t.Fatalf("creating a product: %d %s", st, data)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/products/"+p.ID+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("opening the stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	type imageEvent struct {
		Change string `json:"change"`
		Image  *struct {
			Status string `json:"status"`
		} `json:"image"`
	}
	events := make(chan imageEvent, 100)
	go func() {
		defer close(events)
		_ = sseclient.Read(resp.Body, func(ev sseclient.Event) bool {
			if ev.Event == "image" {
				var e imageEvent
				if json.Unmarshal([]byte(ev.Data), &e) == nil {
					events <- e
				}
			}
			return true
		})
	}()

	// A large photograph, so that its job is seen processing.
	photo, err := os.ReadFile(testphotos.Large(t))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "photo.jpg")
	fw.Write(photo)
	mw.Close()
	if st, _, data := s.request(t, "POST", "/v1/products/"+p.ID+"/images", &body, "Content-Type", mw.FormDataContentType()); st != http.StatusCreated {
		t.Fatalf("uploading: %d %s", st, data)
	}

	// The worker, in a process of its own.
	cmd := exec.Command(os.Args[0], "work")
	cmd.Env = append(os.Environ(), "VITRINE_TEST_AS_MAIN=1", "VITRINE_WORKERS=1", "VITRINE_DATA_DIR="+s.dataDir,
		"DATABASE_URL="+dbEnv["DATABASE_URL"], "VITRINE_MIGRATE_DATABASE_URL="+owner, "VITRINE_ADDR=127.0.0.1:0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()

	var seen []string
	deadline := time.After(3 * time.Minute)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended after %v", seen)
			}
			status := "null"
			if e.Image != nil {
				status = e.Image.Status
			}
			seen = append(seen, e.Change+":"+status)
			if e.Change == "thumbnails" && status == "ready" {
				want := []string{"created:pending", "status:processing"}
				for i, w := range want {
					if i >= len(seen) || seen[i] != w {
						t.Fatalf("events %v, want them to start with %v", seen, want)
					}
				}
				t.Logf("events: %v", seen)
				return
			}
		case <-deadline:
			t.Fatalf("no ready thumbnails after %v\n%s", seen, stderr.String())
		}
	}
}
