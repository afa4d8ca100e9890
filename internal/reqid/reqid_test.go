package reqid

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestChooseKeepsOnlyShortPrintableIDs(t *testing.T) {
	for _, id := range []string{"a", "upload-7f3a9c", strings.Repeat("x", MaxLen), "req:1/2_3.4~"} {
		if got := Choose(id); got != id {
			t.Errorf("Choose(%q) = %q, want it kept", id, got)
		}
	}
	for _, id := range []string{"", "has space", strings.Repeat("x", MaxLen+1), "tab\t", "nl\n", "é", "\x7f"} {
		if got := Choose(id); got == id || !Valid(got) || len(got) != 32 {
			t.Errorf("Choose(%q) = %q, want a new 32-character id", id, got)
		}
	}
}

func TestMetadataKeepsOtherKeys(t *testing.T) {
	md, err := AddToMetadata([]byte(`{"traceparent":"00-aa-bb-01"}`), "r-1")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(md, &m); err != nil || m["traceparent"] != "00-aa-bb-01" || FromMetadata(md) != "r-1" {
		t.Fatalf("metadata %s", md)
	}
	if FromMetadata(nil) != "" || FromMetadata([]byte(`{"request_id":"bad id"}`)) != "" {
		t.Error("an absent or invalid request id read from metadata")
	}
}

func TestHandlerLogsTheContextsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler{slog.NewJSONHandler(&buf, nil)}).With("component", "x")
	log.InfoContext(With(context.Background(), "r-9"), "hello")
	log.InfoContext(context.Background(), "bare")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, second map[string]any
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[1]), &second) != nil {
		t.Fatalf("logs %q", buf.String())
	}
	if first["request_id"] != "r-9" || first["component"] != "x" || second["request_id"] != nil {
		t.Errorf("logs %q", buf.String())
	}
}
