package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape reads every series of /metrics at addr.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// value returns the value of the series name{labels} (a counter, a gauge, or a histogram's
// count), and whether it is there.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := families[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// uploadForm is a multipart body with file as its "file" part.
func uploadForm(file []byte) (*bytes.Buffer, string) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "photo.jpeg")
	fw.Write(file)
	mw.Close()
	return &body, mw.FormDataContentType()
}

// TestMetricsAfterScriptedRequests runs a real `vitrine serve` (workers in-process) on a real
// database, sends a known set of requests, and reads /metrics on its own listener: each
// request is counted under its route pattern (never its path) and status, the upload's
// bytes and the refused upload's error code are counted, the thumbnail job's run, its
// pipeline steps and its store writes are there, and the database's counts say the image is
// ready.
func TestMetricsAfterScriptedRequests(t *testing.T) {
	t.Parallel()
	metricsAddr := freeAddr(t)
	s := startServe(t, map[string]string{"VITRINE_METRICS_ADDR": metricsAddr})
	cfg, err := loadConfig(newFlagSet(), nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}

	st, _, data := s.request(t, "POST", "/v1/products", strings.NewReader(`{"supplier_id":"7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`), "Content-Type", "application/json")
	var p struct{ ID string }
	if err := json.Unmarshal(data, &p); st != http.StatusCreated || err != nil {
		t.Fatalf("creating a product: %d %s", st, data)
	}
	photo := readPhoto(t)
	body, ctype := uploadForm(photo)
	uploadSize := body.Len()
	st, _, data = s.request(t, "POST", "/v1/products/"+p.ID+"/images", body, "Content-Type", ctype)
	var im struct{ ID string }
	if err := json.Unmarshal(data, &im); st != http.StatusCreated || err != nil {
		t.Fatalf("uploading: %d %s", st, data)
	}
	body, ctype = uploadForm([]byte("this is no image at all, only text"))
	st, _, data = s.request(t, "POST", "/v1/products/"+p.ID+"/images", body, "Content-Type", ctype)
	var refused struct{ Error struct{ Code string } }
	if err := json.Unmarshal(data, &refused); st < 400 || st >= 500 || err != nil || refused.Error.Code == "" {
		t.Fatalf("uploading text: %d %s, want a 4xx with an error code", st, data)
	}
	for range 2 {
		if st, _, data := s.request(t, "GET", "/v1/products/"+p.ID+"/images", nil); st != http.StatusOK {
			t.Fatalf("listing: %d %s", st, data)
		}
	}
	missing := "/v1/images/00000000-0000-4000-8000-000000000001"
	if st, _, _ := s.request(t, "GET", missing, nil); st != http.StatusNotFound {
		t.Fatalf("GET %s: %d, want 404", missing, st)
	}

	// The job runs on its own: wait for the database's counts (cached a few seconds) to say
	// the image is ready.
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(2 * time.Minute)
	for {
		fams = scrape(t, metricsAddr)
		if v, _ := value(fams, "vitrine_images", "status", "ready"); v == 1 {
			break
		}
		if time.Now().After(deadline) {
			v, _ := value(fams, "vitrine_images", "status", "pending")
			t.Fatalf("no image is ready by the metrics (pending %v)\n%s", v, s.logText())
		}
		time.Sleep(200 * time.Millisecond)
	}

	type series struct {
		name   string
		labels []string
		want   float64
	}
	for _, c := range []series{
		{"vitrine_http_requests_total", []string{"method", "POST", "route", "POST /v1/products", "code", "201", "class", "2xx"}, 1},
		{"vitrine_http_requests_total", []string{"route", "POST /v1/products/{product_id}/images", "code", "201"}, 1},
		{"vitrine_http_requests_total", []string{"route", "POST /v1/products/{product_id}/images", "code", fmt.Sprint(st)}, 1},
		{"vitrine_http_requests_total", []string{"method", "GET", "route", "GET /v1/products/{product_id}/images", "code", "200"}, 2},
		{"vitrine_http_requests_total", []string{"route", "GET /v1/images/{id}", "code", "404", "class", "4xx"}, 1},
		{"vitrine_http_request_duration_seconds", []string{"method", "GET", "route", "GET /v1/products/{product_id}/images"}, 2},
		{"vitrine_upload_refusals_total", []string{"reason", refused.Error.Code}, 1},
		{"vitrine_jobs_worked_total", []string{"kind", "thumbnail", "outcome", "completed"}, 1},
		{"vitrine_job_duration_seconds", []string{"kind", "thumbnail"}, 1},
		{"vitrine_job_queue_latency_seconds", []string{"kind", "thumbnail"}, 1},
		{"vitrine_imaging_step_duration_seconds", []string{"step", "decode"}, 1},
		{"vitrine_images", []string{"status", "ready"}, 1},
		{"vitrine_images", []string{"status", "pending"}, 0},
		{"vitrine_db_stats_up", nil, 1},
	} {
		if got, ok := value(fams, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %t), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	// Every preset is resized once and encoded once per format.
	for _, preset := range cfg.Presets {
		if got, _ := value(fams, "vitrine_imaging_step_duration_seconds", "step", "resize", "preset", preset.Name); got != 1 {
			t.Errorf("resizes to %s: %v, want 1", preset.Name, got)
		}
		for _, f := range cfg.ThumbnailFormats {
			if got, _ := value(fams, "vitrine_imaging_step_duration_seconds", "step", "encode", "preset", preset.Name, "format", f); got != 1 {
				t.Errorf("encodes of %s as %s: %v, want 1", preset.Name, f, got)
			}
		}
	}
	// The original and every distinct variant (content-addressed: a preset larger than the
	// photo repeats a smaller one) were written to the store, once each.
	var ready struct {
		Variants map[string]map[string]struct{ URL string }
	}
	s.getJSON(t, "/v1/images/"+im.ID, &ready)
	keys := map[string]bool{}
	for _, formats := range ready.Variants {
		for _, v := range formats {
			keys[v.URL] = true
		}
	}
	if got, _ := value(fams, "vitrine_store_operations_total", "operation", "put", "outcome", "ok"); len(keys) == 0 || got != float64(1+len(keys)) {
		t.Errorf("store puts: %v, want %d (the original and %d variants)", got, 1+len(keys), len(keys))
	}
	if got, _ := value(fams, "vitrine_upload_bytes_total"); got < float64(uploadSize) {
		t.Errorf("upload bytes: %v, want at least the upload's %d", got, uploadSize)
	}
	for _, name := range []string{"vitrine_outbox_length", "vitrine_outbox_oldest_age_seconds", "vitrine_db_pool_max_connections",
		"vitrine_store_operation_duration_seconds", "go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no series %s", name)
		}
	}
	// Label values are patterns and codes, never a path or an id.
	for name, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if strings.Contains(l.GetValue(), p.ID) || strings.Contains(l.GetValue(), im.ID) || strings.Contains(l.GetValue(), "00000000-0000") {
					t.Errorf("%s has an id in label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// TestRequestIDReachesTheThumbnailJob uploads with an X-Request-Id and finds it echoed in
// the answer, on the request's access log line, and on the log lines of the thumbnail job
// that the upload enqueued; a request id that is not printable or too long is replaced.
func TestRequestIDReachesTheThumbnailJob(t *testing.T) {
	t.Parallel()
	s := startServe(t, nil)
	st, _, data := s.request(t, "POST", "/v1/products", strings.NewReader(`{"supplier_id":"7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`), "Content-Type", "application/json")
	var p struct{ ID string }
	if err := json.Unmarshal(data, &p); st != http.StatusCreated || err != nil {
		t.Fatalf("creating a product: %d %s", st, data)
	}
	const id = "upload-7f3a9c"
	body, ctype := uploadForm(readPhoto(t))
	st, h, data := s.request(t, "POST", "/v1/products/"+p.ID+"/images", body, "Content-Type", ctype, "X-Request-Id", id)
	if st != http.StatusCreated {
		t.Fatalf("uploading: %d %s", st, data)
	}
	if got := h.Get("X-Request-Id"); got != id {
		t.Errorf("X-Request-Id echoed %q, want %q", got, id)
	}
	var recorded map[string]any
	deadline := time.Now().Add(2 * time.Minute)
	for recorded == nil {
		for _, rec := range logRecords(s.logText()) {
			if rec["msg"] == "thumbnails recorded" && rec["request_id"] == id {
				recorded = rec
			}
		}
		if recorded == nil && time.Now().After(deadline) {
			t.Fatalf("no thumbnail job logged request_id %s\n%s", id, s.logText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var access map[string]any
	for _, rec := range logRecords(s.logText()) {
		if rec["msg"] == "request" && rec["request_id"] == id {
			access = rec
		}
	}
	if access == nil || access["method"] != "POST" || access["route"] != "POST /v1/products/{product_id}/images" ||
		access["status"] != float64(201) || access["role"] != "service_role" || access["duration"] == nil || access["bytes"] == nil {
		t.Errorf("access log line of the upload: %v", access)
	}

	for _, bad := range []string{"has space", strings.Repeat("x", 65), "tab\there"} {
		_, h, _ := s.request(t, "GET", "/healthz", nil, "X-Request-Id", bad)
		if got := h.Get("X-Request-Id"); got == bad || len(got) != 32 {
			t.Errorf("X-Request-Id %q answered %q, want a new 32-character id", bad, got)
		}
	}
}

// logRecords parses the JSON log lines in logs.
func logRecords(logs string) []map[string]any {
	var recs []map[string]any
	dec := json.NewDecoder(strings.NewReader(logs))
	for {
		var rec map[string]any
		if err := dec.Decode(&rec); err == io.EOF {
			return recs
		} else if err != nil {
			return recs
		}
		recs = append(recs, rec)
	}
}

// TestWorkServesMetrics runs `vitrine work` alone: it serves /metrics too, with the jobs it
// works (the outbox sweep it runs at start) and the database's counts.
func TestWorkServesMetrics(t *testing.T) {
	t.Parallel()
	owner := pgtest.NewDB(t)
	metricsAddr := freeAddr(t)
	envs := map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner, "VITRINE_DATA_DIR": t.TempDir(),
		"VITRINE_WORKERS": "1", "VITRINE_METRICS_ADDR": metricsAddr,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"work"}, env(envs), io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("work: %v", err)
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if resp, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
			resp.Body.Close()
			fams := scrape(t, metricsAddr)
			up, _ := value(fams, "vitrine_db_stats_up")
			swept, _ := value(fams, "vitrine_jobs_worked_total", "kind", "drain_object_outbox", "outcome", "completed")
			if up == 1 && swept >= 1 {
				if _, ok := value(fams, "vitrine_images", "status", "ready"); !ok {
					t.Error("no vitrine_images series")
				}
				return
			}
		}
		select {
		case err := <-done:
			done <- err // for the cleanup
			t.Fatalf("work ended early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("vitrine work's /metrics never showed its outbox sweep")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
