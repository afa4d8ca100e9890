package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/sseclient"
)

// eventWait is how long a test waits for an event it expects: wide, for slow machines.
const eventWait = 20 * time.Second

// sseEvent is one server-sent event as a client reads it.
type sseEvent = sseclient.Event

// eventStream is an open GET /v1/products/{id}/events, read by a goroutine.
type eventStream struct {
	resp     *http.Response
	events   chan sseEvent
	comments chan string
	cancel   context.CancelFunc
}

// openEvents opens a product's stream with token (none when ""), lastEventID as the
// Last-Event-ID header when not "", and header's name, value pairs. It returns the response;
// a 200's body is read into events, anything else is returned unread (closed at the test's
// end).
func openEvents(t *testing.T, base, token string, productID uuid.UUID, lastEventID string, header ...string) *eventStream {
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
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
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
		_ = sseclient.Read(resp.Body, func(ev sseEvent) bool {
			if ev.Comment != "" {
				select {
				case s.comments <- ev.Comment:
				default:
				}
				return true
			}
			s.events <- ev
			return true
		})
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

func TestEventsAfterLastEventID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	productID := b.createProduct(t)
	first := b.uploadFile(t, productID, "video-001.jpeg")
	s := openEvents(t, b.url, b.token, productID, "")
	snap := s.snapshot(t)
	s.cancel() // the client goes away

	// Three changes it misses: an upload and two alt texts.
	second := b.uploadFile(t, productID, "video-001.png")
	for _, alt := range []string{"one", "two"} {
		if st := b.doJSON(t, "PATCH", "/v1/images/"+first.ID.String(), map[string]string{"alt": alt}, nil); st != 200 {
			t.Fatalf("alt: %d", st)
		}
	}
	// It comes back with the id of the last event it had: exactly the missed events, in
	// order, each with the state as it is now; then live ones.
	s = openEvents(t, b.url, b.token, productID, strconv.FormatInt(snap.Seq, 10))
	s.image(t, snap.Seq+1, "created", second.ID)
	if e := s.image(t, snap.Seq+2, "alt", first.ID); e.Image.Alt != "two" {
		t.Fatalf("replayed alt: %+v", e)
	}
	s.image(t, snap.Seq+3, "alt", first.ID)
	if st := b.doJSON(t, "PATCH", "/v1/images/"+second.ID.String(), map[string]string{"alt": "live"}, nil); st != 200 {
		t.Fatalf("alt: %d", st)
	}
	s.image(t, snap.Seq+4, "alt", second.ID)

	// An id the product never reached, or garbage: reload, then a snapshot.
	for _, id := range []string{"999", "not-a-number"} {
		s := openEvents(t, b.url, b.token, productID, id)
		s.nextOf(t, "reload", snap.Seq+4)
		if got := s.snapshot(t); got.Seq != snap.Seq+4 || len(got.Images) != 2 {
			t.Fatalf("snapshot after reload: %+v", got)
		}
	}
	// Events no longer held (deleted as the hourly expiry would): reload, then a snapshot.
	if _, err := b.db.Pool().Exec(context.Background(), `DELETE FROM vitrine_events WHERE product_id = $1 AND seq <= $2`,
		productID, snap.Seq+2); err != nil {
		t.Fatal(err)
	}
	s = openEvents(t, b.url, b.token, productID, strconv.FormatInt(snap.Seq, 10))
	s.nextOf(t, "reload", snap.Seq+4)
	s.snapshot(t)
	// While an id whose next events are still held replays them.
	s = openEvents(t, b.url, b.token, productID, strconv.FormatInt(snap.Seq+2, 10))
	s.image(t, snap.Seq+3, "alt", first.ID)
}

func TestEventsFollowRowLevelSecurity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner, stranger := uuid.New(), uuid.New()
	ownerToken := tokenFor(t, gallery.Supplier(owner))
	productID := uuid.New()
	b.token = ownerToken
	if st := b.doJSON(t, "POST", "/v1/products", map[string]any{"id": productID}, nil); st != 201 {
		t.Fatalf("creating product: %d", st)
	}
	// Unpublished: another supplier and anonymous callers get 404 before any stream.
	for name, token := range map[string]string{"another supplier": tokenFor(t, gallery.Supplier(stranger)), "anonymous": ""} {
		s := openEvents(t, b.url, token, productID, "")
		if s.resp.StatusCode != 404 || !strings.HasPrefix(s.resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %q", name, s.resp.StatusCode, s.resp.Header.Get("Content-Type"))
		}
	}
	if st := b.doJSON(t, "PATCH", "/v1/products/"+productID.String(), map[string]bool{"published": true}, nil); st != 200 {
		t.Fatalf("publish: %d", st)
	}
	// Published: anonymous callers stream it, until it is withdrawn.
	anon := openEvents(t, b.url, "", productID, "")
	if anon.resp.StatusCode != 200 {
		t.Fatalf("anonymous on a published product: %d", anon.resp.StatusCode)
	}
	anon.snapshot(t)
	mine := openEvents(t, b.url, ownerToken, productID, "")
	mine.snapshot(t)
	if st := b.doJSON(t, "PATCH", "/v1/products/"+productID.String(), map[string]bool{"published": false}, nil); st != 200 {
		t.Fatalf("withdraw: %d", st)
	}
	gone := decode[struct {
		Reason string `json:"reason"`
	}](t, anon.nextOf(t, "gone", -1))
	if gone.Reason == "" {
		t.Error("gone without a reason")
	}
	if !anon.ended(t) {
		t.Error("the anonymous stream did not end after gone")
	}
	// The owner still reads it: it gets the product event.
	if pe := decode[productEvent](t, mine.nextOf(t, "product", -1)); pe.Change != "published" || pe.Product == nil || pe.Product.Published {
		t.Fatalf("owner's event: %+v", pe)
	}
	// Deleted: the owner's stream is gone too.
	if st := b.doJSON(t, "DELETE", "/v1/products/"+productID.String(), nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	mine.nextOf(t, "gone", -1)
	if !mine.ended(t) {
		t.Error("the owner's stream did not end after gone")
	}
}

func TestEventStreamsAreBounded(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) {
		o.events.MaxStreams = 2
		o.writeTimeout = 2 * time.Second
	})
	productID := b.createProduct(t)
	// A gallery of 200 images (written by the legacy RPC, in one statement) makes every
	// reorder 200 events of about 8 KB each.
	b.asRole(t, gallery.RoleService, uuid.Nil, `SELECT insert_image_with_order($1, 'https://img.example.com/'||g||'.jpg',
		(SELECT supplier_id FROM products WHERE id = $1)) FROM generate_series(1, 200) AS g`, productID)
	ids := b.gallery(t, productID)

	reading := openEvents(t, b.url, b.token, productID, "")
	reading.snapshot(t)
	// A client that sends its request and then never reads.
	conn, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1/products/%s/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", productID, b.token)
	// Both places are taken: the next stream is refused before it starts.
	deadline := time.Now().Add(eventWait)
	for {
		s := openEvents(t, b.url, b.token, productID, "")
		if s.resp.StatusCode == 503 {
			if s.resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			s.cancel()
			break
		}
		s.cancel()
		if time.Now().After(deadline) {
			t.Fatalf("a third stream was not refused: %d", s.resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond) // the silent client's request is still on its way
	}

	// Reorders until the silent client's stream is cut off: more than any socket buffers
	// hold (each reorder is about 1.6 MB of events), while the reading client keeps up.
	cutOff := false
	for i := 0; i < 200 && !cutOff; i++ {
		slices.Reverse(ids)
		if st := b.doJSON(t, "PUT", "/v1/products/"+productID.String()+"/images/order", map[string]any{"ids": ids}, nil); st != 200 {
			t.Fatalf("reorder: %d", st)
		}
		// A place is free again once the silent stream was ended.
		s := openEvents(t, b.url, b.token, productID, "")
		cutOff = s.resp.StatusCode == 200
		s.cancel()
	}
	if !cutOff {
		t.Fatal("the stream of a client that does not read was never ended")
	}
	// The reading client got every event, in order, and its stream is still open.
	want := int64(1) // the snapshot's seq + 1
	deadline = time.Now().Add(eventWait)
	for {
		select {
		case ev, ok := <-reading.events:
			if !ok {
				t.Fatal("the reading client's stream ended")
			}
			if ev.Event != "image" {
				t.Fatalf("reading client got %s", ev.Event)
			}
			n, _ := strconv.ParseInt(ev.ID, 10, 64)
			if n <= want-1 {
				t.Fatalf("event %d after %d", n, want-1)
			}
			want = n + 1
			continue
		case <-time.After(time.Second):
		}
		var head int64
		if err := b.db.Pool().QueryRow(context.Background(), `SELECT seq FROM vitrine_event_heads WHERE product_id = $1`, productID).Scan(&head); err != nil {
			t.Fatal(err)
		}
		if want-1 == head {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reading client is at %d of %d", want-1, head)
		}
	}
}

func TestEventsReachStreamsOfAnotherServer(t *testing.T) {
	t.Parallel()
	one := setup(t)
	two := setup(t, func(o *options) { o.ownerURL = one.ownerURL })
	productID := one.createProduct(t)
	s := openEvents(t, two.url, two.token, productID, "")
	snap := s.snapshot(t)
	im := one.uploadFile(t, productID, "video-001.jpeg")
	s.image(t, snap.Seq+1, "created", im.ID)
	if st := one.doJSON(t, "PATCH", "/v1/images/"+im.ID.String(), map[string]string{"alt": "through one"}, nil); st != 200 {
		t.Fatalf("alt: %d", st)
	}
	if e := s.image(t, snap.Seq+2, "alt", im.ID); e.Image.Alt != "through one" {
		t.Fatalf("alt: %+v", e)
	}
}

func TestSilentStreamsGetHeartbeats(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.events.Heartbeat = 100 * time.Millisecond })
	productID := b.createProduct(t)
	s := openEvents(t, b.url, b.token, productID, "")
	s.snapshot(t)
	for range 3 {
		select {
		case c := <-s.comments:
			if c != "keep-alive" {
				t.Fatalf("comment %q", c)
			}
		case <-time.After(eventWait):
			t.Fatal("no heartbeat")
		}
	}
}
