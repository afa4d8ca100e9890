package httpapi

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

// EventSource is what the event streams need of the database; the PostgreSQL adapter
// implements it.
type EventSource interface {
	// ProductEvents reads, as the caller ctx carries, the events of a product after seq
	// after (at most limit), with the product and its gallery as they are now; a product the
	// caller cannot read is a not-found error.
	ProductEvents(ctx context.Context, productID uuid.UUID, after int64, limit int) (gallery.ProductEvents, error)
	// EventHeads returns the last event's seq of each of the products that has events.
	EventHeads(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]int64, error)
	// WatchProducts asks writers that notify inside their transactions to notify for these
	// products for the next ttl.
	WatchProducts(ctx context.Context, ids []uuid.UUID, ttl time.Duration) error
	// ListenEvents calls listening once it listens for notifications of new events, then
	// notified with each payload (product ids separated by commas, or "*": all), until ctx
	// ends or its connection fails.
	ListenEvents(ctx context.Context, listening func(), notified func(payload string)) error
}

// HubConfig bounds and paces a Hub. Zero values take the defaults.
type HubConfig struct {
	MaxStreams int           // event streams open at once in the process (default 1000)
	Recheck    time.Duration // how often the heads of every watched product are re-read (default 3 s)
	Heartbeat  time.Duration // the longest a stream stays silent (default 15 s)
	Logger     *slog.Logger
}

// The hub's fixed bounds.
const (
	// streamBuffer is how many batches of frames (one per read of the hub; the frames are
	// shared by the streams of a group) may wait for a stream's client; a client that falls
	// further behind has its stream ended (it reconnects with Last-Event-ID).
	streamBuffer = 64
	// maxReplay is the most events one read returns; the rest come with the next read.
	maxReplay = 1000
	// hubReads is how many reads of (product, caller) the hub makes at once.
	hubReads = 4
	// hubReadTimeout bounds one read of the hub.
	hubReadTimeout = 10 * time.Second
	// watchTTL is how long a row of vitrine_event_watch lasts unless pushed forward.
	watchTTL = 30 * time.Second
)

// Hub serves the event streams of one process: it listens for notifications of new events
// on one connection of its own, and, for each watched product with new events, reads the new
// events and the current state once per caller identity (role, user and the supplier it acts for), for every stream of
// that product and identity. Streams never read the database on their own after they start.
// Every Recheck it also re-reads the heads of every watched product (in one query), which
// catches what a lost notification or a lost connection missed.
type Hub struct {
	src    EventSource
	cfg    HubConfig
	server *Server // encodes the frames; set by Server.Handler
	open   atomic.Int64
	wake   chan struct{}

	mu       sync.Mutex
	products map[uuid.UUID]map[groupKey]*group
	pending  map[uuid.UUID]struct{}
	all      bool        // re-read every watched product
	unwatch  bool        // refresh every row of vitrine_event_watch
	newWatch []uuid.UUID // products whose watch row is not written yet
	closed   bool        // Shutdown was called
}

// groupKey is the identity row-level security decides by: the role, the user and the
// supplier it acts for (asked for, or claimed by its token).
type groupKey struct {
	role    gallery.Role
	user    uuid.UUID
	claimed uuid.UUID
	actFor  uuid.UUID
}

// group is the streams of one product and one caller identity.
type group struct {
	caller  gallery.Caller
	streams map[*stream]struct{}
}

// stream is one open event stream.
type stream struct {
	product uuid.UUID
	key     groupKey
	caller  gallery.Caller
	out     chan [][]byte // frames for the client, a batch per read; the hub never waits on it
	ended   chan struct{} // closed when the stream must end after the frames in out
	sent    int64         // the last seq put in out; guarded by Hub.mu
	done    bool          // ended is closed; guarded by Hub.mu
	// behind is set, before ended is closed, when the stream ends because its client fell
	// behind: what is queued is dropped rather than written.
	behind bool
}

// NewHub returns a hub reading from src; Run must run for streams to get live events.
func NewHub(src EventSource, cfg HubConfig) *Hub {
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 1000
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = 3 * time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{src: src, cfg: cfg, wake: make(chan struct{}, 1),
		products: map[uuid.UUID]map[groupKey]*group{}, pending: map[uuid.UUID]struct{}{}}
}

// Run listens and delivers until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	go h.listen(ctx)
	tick := time.NewTicker(h.cfg.Recheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-tick.C:
			h.mu.Lock()
			h.all, h.unwatch = true, true
			h.mu.Unlock()
		}
		h.round(ctx)
	}
}

// listen keeps a listening connection, reconnecting with backoff; on each (re)connection
// every watched product is re-read, since notifications sent meanwhile were lost.
func (h *Hub) listen(ctx context.Context) {
	const maxBackoff = 5 * time.Second
	backoff := 100 * time.Millisecond
	for {
		err := h.src.ListenEvents(ctx, func() {
			backoff = 100 * time.Millisecond
			h.mu.Lock()
			h.all = true
			h.mu.Unlock()
			h.poke()
		}, h.notified)
		if ctx.Err() != nil {
			return
		}
		h.cfg.Logger.Warn("listening for events failed; reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (h *Hub) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// notified marks the watched products a notification names.
func (h *Hub) notified(payload string) {
	h.mu.Lock()
	if payload == "*" {
		h.all = true
	} else {
		for _, s := range strings.Split(payload, ",") {
			id, err := uuid.Parse(s)
			if err != nil {
				continue
			}
			if _, ok := h.products[id]; ok {
				h.pending[id] = struct{}{}
			}
		}
	}
	h.mu.Unlock()
	h.poke()
}

// read is one read the hub makes: a product's events after seq after, as caller.
type read struct {
	product uuid.UUID
	key     groupKey
	caller  gallery.Caller
	after   int64
}

// round reads what the marked products need, and delivers it.
func (h *Hub) round(ctx context.Context) {
	h.mu.Lock()
	var ids, watch []uuid.UUID
	if h.all {
		for id := range h.products {
			ids = append(ids, id)
		}
	} else {
		for id := range h.pending {
			if _, ok := h.products[id]; ok {
				ids = append(ids, id)
			}
		}
	}
	if h.unwatch {
		for id := range h.products {
			watch = append(watch, id)
		}
	} else {
		watch = h.newWatch
	}
	h.pending = map[uuid.UUID]struct{}{}
	h.all, h.unwatch, h.newWatch = false, false, nil
	h.mu.Unlock()

	if len(watch) > 0 {
		wctx, cancel := context.WithTimeout(ctx, hubReadTimeout)
		if err := h.src.WatchProducts(wctx, watch, watchTTL); err != nil {
			h.cfg.Logger.Warn("recording the watched products", "error", err)
		}
		cancel()
	}
	if len(ids) == 0 {
		return
	}
	hctx, cancel := context.WithTimeout(ctx, hubReadTimeout)
	heads, err := h.src.EventHeads(hctx, ids)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			h.cfg.Logger.Warn("reading the heads of watched products; retrying at the next recheck", "error", err)
		}
		return
	}
	var reads []read
	h.mu.Lock()
	for _, id := range ids {
		for key, g := range h.products[id] {
			after := int64(-1)
			for st := range g.streams {
				if after < 0 || st.sent < after {
					after = st.sent
				}
			}
			if after >= 0 && heads[id] > after {
				reads = append(reads, read{product: id, key: key, caller: g.caller, after: after})
			}
		}
	}
	h.mu.Unlock()

	sem := make(chan struct{}, hubReads)
	var wg sync.WaitGroup
	for _, rd := range reads {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			rctx, cancel := context.WithTimeout(gallery.WithCaller(ctx, rd.caller), hubReadTimeout)
			defer cancel()
			b, err := h.src.ProductEvents(rctx, rd.product, rd.after, maxReplay)
			h.deliver(rd, b, err)
		}()
	}
	wg.Wait()
}

// deliver sends one read's frames to the streams of its product and caller identity: the
// events each has not had, or a reload and a snapshot when those are no longer held, or
// gone when the caller can no longer read the product.
func (h *Hub) deliver(rd read, b gallery.ProductEvents, err error) {
	var frames []seqFrame
	var data [][]byte // frames' data, in the same order
	var restart [][]byte
	switch {
	case gallery.ErrorCode(err) == gallery.ENOTFOUND, gallery.ErrorCode(err) == gallery.EFORBIDDEN:
		// Forbidden: the caller asked to act for a supplier whose team it has left since.
		restart = [][]byte{goneFrame(rd.after, "the product was deleted, or may no longer be read by this caller")}
	case err != nil:
		h.cfg.Logger.Warn("reading a watched product's events; retrying at the next recheck",
			"product_id", rd.product, "error", err)
		return
	case b.Held:
		frames = h.server.eventFrames(b)
		data = make([][]byte, len(frames))
		for i, f := range frames {
			data[i] = f.data
		}
	default:
		restart = [][]byte{h.server.restartFrames(b, "the events since the last one received are no longer held")}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.products[rd.product][rd.key]
	if g == nil {
		return
	}
	for st := range g.streams {
		switch {
		case err != nil: // gone
			h.send(st, restart)
			h.end(st)
		case st.sent >= b.Through():
		case restart != nil:
			h.send(st, restart)
			st.sent = b.Head
		default:
			// The frames are in seq order: the stream needs a suffix of them.
			i := sort.Search(len(frames), func(i int) bool { return frames[i].seq > st.sent })
			if i < len(frames) {
				h.send(st, data[i:])
			}
			st.sent = b.Through()
		}
	}
	if err == nil && b.Through() < b.Head {
		// More than one read's worth: the rest at once.
		h.pending[rd.product] = struct{}{}
		h.poke()
	}
}

// send queues a frame for a stream, or ends a stream whose client does not keep up.
// h.mu must be held.
func (h *Hub) send(st *stream, frames [][]byte) {
	if st.done {
		return
	}
	select {
	case st.out <- frames:
	default:
		st.behind = true
		h.end(st)
	}
}

// end ends a stream once the frames queued for it are written. h.mu must be held.
func (h *Hub) end(st *stream) {
	if !st.done {
		st.done = true
		close(st.ended)
	}
}

// Shutdown ends every stream (each ends after what is queued for it; clients reconnect to
// another process with Last-Event-ID) and refuses new ones: for http.Server's
// RegisterOnShutdown, since a stream never becomes idle by itself.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, groups := range h.products {
		for _, g := range groups {
			for st := range g.streams {
				h.end(st)
			}
		}
	}
}

// openStream reserves one of the process's streams, or answers EUNAVAILABLE.
func (h *Hub) openStream(product uuid.UUID, caller gallery.Caller) (*stream, error) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, gallery.Errorf(gallery.EUNAVAILABLE, "the server is shutting down; retry shortly")
	}
	if h.open.Add(1) > int64(h.cfg.MaxStreams) {
		h.open.Add(-1)
		return nil, gallery.Errorf(gallery.EUNAVAILABLE, "too many event streams are open; retry shortly")
	}
	return &stream{product: product, caller: caller, key: groupKey{role: caller.Role, user: caller.UserID, claimed: caller.ClaimedSupplier, actFor: caller.ActFor},
		out: make(chan [][]byte, streamBuffer), ended: make(chan struct{})}, nil
}

// attach makes a stream live from seq sent on, and has its product read at once (for the
// events committed since the stream's first read).
func (h *Hub) attach(st *stream, sent int64) {
	h.mu.Lock()
	st.sent = sent
	groups := h.products[st.product]
	if groups == nil {
		groups = map[groupKey]*group{}
		h.products[st.product] = groups
		h.newWatch = append(h.newWatch, st.product)
	}
	g := groups[st.key]
	if g == nil {
		g = &group{caller: st.caller, streams: map[*stream]struct{}{}}
		groups[st.key] = g
	}
	g.streams[st] = struct{}{}
	h.pending[st.product] = struct{}{}
	if h.closed {
		h.end(st)
	}
	h.mu.Unlock()
	h.poke()
}

// closeStream detaches a stream and gives back its place.
func (h *Hub) closeStream(st *stream) {
	h.mu.Lock()
	if groups := h.products[st.product]; groups != nil {
		if g := groups[st.key]; g != nil {
			delete(g.streams, st)
			if len(g.streams) == 0 {
				delete(groups, st.key)
			}
		}
		if len(groups) == 0 {
			delete(h.products, st.product)
		}
	}
	h.end(st)
	h.mu.Unlock()
	h.open.Add(-1)
}
