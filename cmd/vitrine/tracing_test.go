package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace endpoint (POST /v1/traces, protobuf) that keeps the
// spans it receives.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "not an OTLP/HTTP protobuf export", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// trace returns the spans received of the trace id.
func (o *otlpReceiver) trace(id []byte) []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range o.spans {
		if string(s.TraceId) == string(id) {
			out = append(out, s)
		}
	}
	return out
}

// find returns the first span received named name.
func (o *otlpReceiver) find(name string) *tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.spans {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// TestTraceFromUploadToThumbnailJob runs `vitrine serve` exporting traces by OTLP/HTTP to a
// real receiver in the test, continues a client's trace with an upload, and finds one trace
// holding the upload request's span, its database transaction, River's insert (during it)
// of the thumbnail job, that job's work span, its libvips steps and its object store writes.
func TestTraceFromUploadToThumbnailJob(t *testing.T) {
	t.Parallel()
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	t.Cleanup(collector.Close)
	s := startServe(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL})

	st, _, data := s.request(t, "POST", "/v1/products", strings.NewReader(`{"supplier_id":"7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`), "Content-Type", "application/json")
	var p struct{ ID string }
	if err := json.Unmarshal(data, &p); st != http.StatusCreated || err != nil {
		t.Fatalf("creating a product: %d %s", st, data)
	}
	traceID, _ := hex.DecodeString("4bf92f3577b34da6a3ce929d0e0e4736")
	body, ctype := uploadForm(readPhoto(t))
	st, _, data = s.request(t, "POST", "/v1/products/"+p.ID+"/images", body, "Content-Type", ctype,
		"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if st != http.StatusCreated {
		t.Fatalf("uploading: %d %s", st, data)
	}

	want := []string{"POST /v1/products/{product_id}/images", "db.transaction", "river.insert_many", "river.work/thumbnail",
		"imaging.decode", "imaging.resize", "imaging.encode", "store.put", "store.open"}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		names := map[string]bool{}
		for _, sp := range recv.trace(traceID) {
			names[sp.Name] = true
		}
		var missing []string
		for _, n := range want {
			if !names[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upload's trace lacks spans %v; it has %v", missing, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The request's span continues the client's; the job's span is in the same trace, under
	// the span that inserted it.
	req := recv.find("POST /v1/products/{product_id}/images")
	if hex.EncodeToString(req.ParentSpanId) != "00f067aa0ba902b7" {
		t.Errorf("the request's span has parent %x, want the client's 00f067aa0ba902b7", req.ParentSpanId)
	}
	insert, work := recv.find("river.insert_many"), recv.find("river.work/thumbnail")
	var inTx bool
	for _, sp := range recv.trace(traceID) {
		inTx = inTx || (sp.Name == "db.transaction" && string(sp.ParentSpanId) == string(req.SpanId) &&
			sp.StartTimeUnixNano <= insert.StartTimeUnixNano && insert.EndTimeUnixNano <= sp.EndTimeUnixNano)
	}
	if !inTx {
		var tree []string
		for _, sp := range recv.trace(traceID) {
			tree = append(tree, fmt.Sprintf("%s %x<-%x", sp.Name, sp.SpanId, sp.ParentSpanId))
		}
		t.Errorf("River's insert is not within a transaction span under the request's:\n%s", strings.Join(tree, "\n"))
	}
	if string(work.ParentSpanId) != string(insert.SpanId) {
		t.Errorf("the job's span has parent %x, want the insert's %x", work.ParentSpanId, insert.SpanId)
	}
}
