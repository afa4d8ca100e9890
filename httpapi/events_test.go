package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

// eventWait is how long a test waits for an event it expects: wide, for slow machines.
const eventWait = 20 * time.Second

// sseEvent is one server-sent event as a client reads it.
type sseEvent struct {
	ID    string
	Event string
	Data  string
}

// eventStream is an open GET /v1/products/{id}/events, read by a goroutine.
type eventStream struct {
	resp     *http.Response
	events   chan sseEvent
	comments chan string
	cancel   context.CancelFunc
}

// openEvents opens a product's stream with token (none when ""), and lastEventID as the
// Last-Event-ID header when not "". It returns the response; a 200's body is read into
// events, anything else is returned unread (closed at the test's end).
func openEvents(t *testing.T, base, token string, productID uuid.UUID, lastEventID string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/products/"+productID.String()+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &eventStream{resp: resp, events: make(chan sseEvent, 10000), comments: make(chan string, 100), cancel: cancel}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		return s
	}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" || ev.Data != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				select {
				case s.comments <- line:
				default:
				}
			case strings.HasPrefix(line, "id: "):
				ev.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// next returns the next event, failing the test when none arrives within eventWait or the
// stream ends.
func (s *eventStream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(eventWait):
		t.Fatal("no event arrived in time")
	}
	return sseEvent{}
}

// ended reports whether the stream ends (the server closes it) within eventWait, after
// any events still queued.
func (s *eventStream) ended(t *testing.T) bool {
	t.Helper()
	deadline := time.After(eventWait)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

type imageEvent struct {
	Seq     int64       `json:"seq"`
	ImageID uuid.UUID   `json:"image_id"`
	Change  string      `json:"change"`
	Image   *imageFull  `json:"image"`
	Order   []uuid.UUID `json:"order"`
}

type imageFull struct {
	imageBody
	Status string `json:"status"`
}

type productEvent struct {
	Seq     int64  `json:"seq"`
	Change  string `json:"change"`
	Product *struct {
		ID        uuid.UUID `json:"id"`
		Published bool      `json:"published"`
	} `json:"product"`
}

type snapshotEvent struct {
	Seq     int64 `json:"seq"`
	Product struct {
		ID        uuid.UUID `json:"id"`
		Published bool      `json:"published"`
	} `json:"product"`
	Images []imageFull `json:"images"`
}

func decode[T any](t *testing.T, ev sseEvent) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
		t.Fatalf("event %s: %q: %v", ev.Event, ev.Data, err)
	}
	return v
}

// nextOf returns the next event, which must be of kind event with id seq (when seq >= 0).
func (s *eventStream) nextOf(t *testing.T, event string, seq int64) sseEvent {
	t.Helper()
	ev := s.next(t)
	if ev.Event != event {
		t.Fatalf("got event %s (%s), want %s", ev.Event, ev.Data, event)
	}
	if seq >= 0 && ev.ID != strconv.FormatInt(seq, 10) {
		t.Fatalf("event %s has id %q, want %d", ev.Event, ev.ID, seq)
	}
	return ev
}

func (s *eventStream) snapshot(t *testing.T) snapshotEvent {
	t.Helper()
	ev := s.nextOf(t, "snapshot", -1)
	snap := decode[snapshotEvent](t, ev)
	if ev.ID != strconv.FormatInt(snap.Seq, 10) {
		t.Fatalf("snapshot id %q, seq %d", ev.ID, snap.Seq)
	}
	return snap
}

// image reads the next event, which must be an image event of change for id, numbered seq.
func (s *eventStream) image(t *testing.T, seq int64, change string, id uuid.UUID) imageEvent {
	t.Helper()
	e := decode[imageEvent](t, s.nextOf(t, "image", seq))
	if e.Seq != seq || e.Change != change || e.ImageID != id {
		t.Fatalf("got %+v, want seq %d change %s image %s", e, seq, change, id)
	}
	return e
}

func (b *bundle) uploadFile(t *testing.T, productID uuid.UUID, name string) imageBody {
	t.Helper()
	var im imageBody
	if st := b.upload(t, productID, readFile(t, goroot("testdata", name)), name, &im); st != 201 {
		t.Fatalf("uploading %s: %d", name, st)
	}
	return im
}

// asRole runs sql in one transaction on the owner's pool as role with claims, as PostgREST
// or any other outside writer would.
func (b *bundle) asRole(t *testing.T, role gallery.Role, sub uuid.UUID, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	tx, err := b.db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	claims := fmt.Sprintf(`{"role":%q,"sub":%q}`, role, sub)
	if _, err := tx.Exec(ctx, `SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, string(role), claims); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEventsStreamEveryChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	supplier := uuid.New()
	b.token = tokenFor(t, gallery.Supplier(supplier))
	var p struct {
		ID uuid.UUID `json:"id"`
	}
	if st := b.doJSON(t, "POST", "/v1/products", map[string]any{}, &p); st != 201 {
		t.Fatalf("creating product: %d", st)
	}
	first := b.uploadFile(t, p.ID, "video-001.jpeg")

	s := openEvents(t, b.url, b.token, p.ID, "")
	if s.resp.StatusCode != 200 || s.resp.Header.Get("Content-Type") != "text/event-stream" ||
		s.resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET events: %d %v", s.resp.StatusCode, s.resp.Header)
	}
	snap := s.snapshot(t)
	if snap.Product.ID != p.ID || len(snap.Images) != 1 || snap.Images[0].ID != first.ID || snap.Seq != 1 {
		t.Fatalf("snapshot %+v", snap)
	}
	seq := snap.Seq

	second := b.uploadFile(t, p.ID, "video-001.png")
	seq++
	e := s.image(t, seq, "created", second.ID)
	if e.Image == nil || e.Image.Position != 1 || e.Image.Width != second.Width || len(e.Order) != 2 || e.Order[1] != second.ID {
		t.Fatalf("created: %+v", e)
	}

	if st := b.doJSON(t, "PATCH", "/v1/images/"+second.ID.String(), map[string]string{"alt": "a red kettle"}, nil); st != 200 {
		t.Fatalf("alt: %d", st)
	}
	seq++
	if e := s.image(t, seq, "alt", second.ID); e.Image == nil || e.Image.Alt != "a red kettle" {
		t.Fatalf("alt: %+v", e)
	}

	// Moving the second image to the front moves both.
	if st := b.doJSON(t, "POST", "/v1/images/"+second.ID.String()+"/position", map[string]int{"position": 0}, nil); st != 200 {
		t.Fatalf("move: %d", st)
	}
	moved := map[uuid.UUID]bool{}
	for range 2 {
		seq++
		ev := decode[imageEvent](t, s.nextOf(t, "image", seq))
		if ev.Change != "moved" || len(ev.Order) != 2 || ev.Order[0] != second.ID || ev.Order[1] != first.ID {
			t.Fatalf("move: %+v", ev)
		}
		moved[ev.ImageID] = true
	}
	if !moved[first.ID] || !moved[second.ID] {
		t.Fatalf("moved events for %v", moved)
	}

	if st := b.doJSON(t, "DELETE", "/v1/images/"+second.ID.String(), nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	// The deleted image, then the one that moved up into its place, in either order.
	got := map[string]imageEvent{}
	for range 2 {
		seq++
		ev := decode[imageEvent](t, s.nextOf(t, "image", seq))
		got[ev.Change] = ev
	}
	if d := got["deleted"]; d.ImageID != second.ID || d.Image != nil || len(d.Order) != 1 || d.Order[0] != first.ID {
		t.Fatalf("deleted: %+v", d)
	}
	if m := got["moved"]; m.ImageID != first.ID || m.Image == nil || m.Image.Position != 0 {
		t.Fatalf("moved up: %+v", m)
	}

	if st := b.doJSON(t, "PATCH", "/v1/products/"+p.ID.String(), map[string]bool{"published": true}, nil); st != 200 {
		t.Fatalf("publish: %d", st)
	}
	seq++
	if pe := decode[productEvent](t, s.nextOf(t, "product", seq)); pe.Change != "published" || pe.Product == nil || !pe.Product.Published {
		t.Fatalf("published: %+v", pe)
	}

	// A write from outside Vitrine: plain SQL as the supplier, as PostgREST would send it.
	b.asRole(t, gallery.RoleAuthenticated, supplier, `UPDATE product_images SET alt = 'from SQL' WHERE id = $1`, first.ID)
	seq++
	if e := s.image(t, seq, "alt", first.ID); e.Image == nil || e.Image.Alt != "from SQL" {
		t.Fatalf("alt by SQL: %+v", e)
	}
	// And the legacy design's RPC, as the service.
	b.asRole(t, gallery.RoleService, uuid.Nil, `SELECT insert_image_with_order($1, 'https://img.example.com/legacy.jpg', $2)`, p.ID, supplier)
	seq++
	if e := decode[imageEvent](t, s.nextOf(t, "image", seq)); e.Change != "created" || e.Image == nil || e.Image.URL != "https://img.example.com/legacy.jpg" {
		t.Fatalf("created by the RPC: %+v", e)
	}
}
