package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/sseclient"
)

// eventSchemas names the schema of the OpenAPI document that describes each event's data.
var eventSchemas = map[string]string{
	"snapshot": "EventSnapshot",
	"image":    "ImageEvent",
	"product":  "ProductEvent",
	"reload":   "EventReason",
	"gone":     "EventReason",
}

// stream sends r, whose answer is a stream when it is a 200: it reads the stream's first
// events (n of them), then hangs up, and checks the exchange as send does, with what it read
// as the body, and each event's data against the schema the document names for it.
func (c *contract) stream(t *testing.T, r req, n int) (int, http.Header, []sseEvent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hr := c.request(t, r, nil).WithContext(ctx)
	res, err := http.DefaultTransport.RoundTrip(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	var raw bytes.Buffer
	var events []sseEvent
	if res.StatusCode == http.StatusOK {
		_ = sseclient.Read(io.TeeReader(res.Body, &raw), func(ev sseEvent) bool {
			if ev.Comment == "" {
				events = append(events, ev)
			}
			return len(events) < n
		})
	} else if _, err := raw.ReadFrom(res.Body); err != nil {
		t.Fatalf("%s %s: reading the answer: %v", r.method, r.path, err)
	}
	c.check(t, r, res, raw.Bytes())
	for _, ev := range events {
		name, ok := eventSchemas[ev.Event]
		if !ok {
			t.Errorf("%s %s: event %q is not documented", r.method, r.path, ev.Event)
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
			t.Errorf("%s %s: event %s: data is not JSON: %q", r.method, r.path, ev.Event, ev.Data)
			continue
		}
		if err := c.doc.Components.Schemas[name].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%s %s: event %s does not follow %s: %v", r.method, r.path, ev.Event, name, err)
		}
	}
	return res.StatusCode, res.Header, events
}

// contractEvents checks the product's event stream: a snapshot, the events after a
// Last-Event-ID, a reload for an unknown one, and the refusals.
func contractEvents(t *testing.T, c *contract, productID uuid.UUID, as string) {
	t.Helper()
	path := "/v1/products/" + productID.String() + "/events"
	st, h, evs := c.stream(t, req{method: "GET", path: path, token: as}, 1)
	expect(t, "stream", st, 200)
	if h.Get("Content-Type") != "text/event-stream" || len(evs) != 1 || evs[0].Event != "snapshot" {
		t.Fatalf("stream: %q %+v", h.Get("Content-Type"), evs)
	}
	// The product's published flag goes back and forth: two product events after the snapshot.
	for _, published := range []string{`{"published": false}`, `{"published": true}`} {
		st, _, _ = c.send(t, req{method: "PATCH", path: "/v1/products/" + productID.String(), token: as,
			contentType: "application/json", body: []byte(published)})
		expect(t, "publish", st, 200)
	}
	st, _, evs = c.stream(t, req{method: "GET", path: path, token: as, header: []string{"Last-Event-ID", evs[0].ID}}, 2)
	expect(t, "stream from an id", st, 200)
	if len(evs) != 2 || evs[0].Event != "product" || evs[1].Event != "product" {
		t.Fatalf("stream from an id: %+v", evs)
	}
	st, _, evs = c.stream(t, req{method: "GET", path: path, token: as, header: []string{"Last-Event-ID", "999999"}}, 2)
	expect(t, "stream from an unknown id", st, 200)
	if len(evs) != 2 || evs[0].Event != "reload" || evs[1].Event != "snapshot" {
		t.Fatalf("stream from an unknown id: %+v", evs)
	}
	st, _, _ = c.stream(t, req{method: "GET", path: "/v1/products/" + uuid.NewString() + "/events", token: as}, 1)
	expect(t, "stream of an unknown product", st, 404)
	st, _, _ = c.stream(t, req{method: "GET", path: "/v1/products/not-an-id/events", token: as, invalid: true}, 1)
	expect(t, "stream of a malformed id", st, 404)
}
