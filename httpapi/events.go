package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

// streamWriteStall is the longest one write of a stream may take (WriteTimeout when that is
// shorter): a client that stops reading is cut off after it.
const streamWriteStall = 30 * time.Second

// productEvents streams a product's events as server-sent events (see the OpenAPI document):
// a snapshot first, or the events after Last-Event-ID, then live ones, with a comment line at
// least every heartbeat. A product the caller cannot read is a 404 before the stream starts.
func (s *Server) productEvents(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "product_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.Events == nil {
		s.writeError(w, r, gallery.Errorf(gallery.ENOTFOUND, "this server does not stream events"))
		return
	}
	resume := false
	after := int64(0)
	if v, ok := r.Header["Last-Event-Id"]; ok && len(v) > 0 {
		resume = true
		if after, err = strconv.ParseInt(v[0], 10, 64); err != nil || after < 0 {
			after = -1 // unknown: a reload and a snapshot
		}
	}
	st, err := s.Events.openStream(id, s.caller(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer s.Events.closeStream(st)
	b, err := s.Events.src.ProductEvents(r.Context(), id, after, maxReplay)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies that buffer would hold the events back
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	var first []byte
	switch {
	case !resume:
		first = s.snapshotFrame(b)
	case b.Held:
		for _, f := range s.eventFrames(b) {
			first = append(first, f.data...)
		}
	default:
		first = s.restartFrames(b, "the event id is unknown, or its events are no longer held")
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	stall := streamWriteStall
	if s.WriteTimeout > 0 && s.WriteTimeout < stall {
		stall = s.WriteTimeout
	}
	// Every write gets its own deadline, so the request's WriteTimeout cuts no live stream
	// (and never one mid-event); a client that does not read is cut off after stall.
	write := func(frames ...[]byte) bool {
		for _, f := range frames {
			_ = rc.SetWriteDeadline(time.Now().Add(stall))
			if _, err := w.Write(f); err != nil {
				return false
			}
		}
		return rc.Flush() == nil
	}
	if len(first) > 0 && !write(first) {
		return
	}
	if len(first) == 0 && rc.Flush() != nil {
		return
	}
	through := b.Head
	if resume && b.Held {
		through = b.Through() // the events past maxReplay come from the hub
	}
	s.Events.attach(st, through)
	beat := time.NewTicker(s.Events.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case frames := <-st.out:
			if !write(frames...) {
				return
			}
		case <-beat.C:
			if !write([]byte(": keep-alive\n\n")) {
				return
			}
		case <-st.ended:
			if st.behind {
				return // the client reconnects with Last-Event-ID
			}
			// What was queued before the end (a gone event) is written, then the stream ends.
			for {
				select {
				case frames := <-st.out:
					if !write(frames...) {
						return
					}
				default:
					return
				}
			}
		}
	}
}

// seqFrame is one event as written to a stream, with its seq.
type seqFrame struct {
	seq  int64
	data []byte
}

// sseFrame formats one server-sent event; id < 0 writes none.
func sseFrame(id int64, event string, data any) []byte {
	payload, err := json.Marshal(data)
	if err != nil {
		// The data are the API's own JSON types, which always marshal.
		panic(err)
	}
	var b bytes.Buffer
	if id >= 0 {
		b.WriteString("id: ")
		b.WriteString(strconv.FormatInt(id, 10))
		b.WriteByte('\n')
	}
	b.WriteString("event: ")
	b.WriteString(event)
	b.WriteString("\ndata: ")
	b.Write(payload)
	b.WriteString("\n\n")
	return b.Bytes()
}

// snapshotJSON is the data of a snapshot event.
type snapshotJSON struct {
	Seq     int64       `json:"seq"`
	Product productJSON `json:"product"`
	Images  []imageJSON `json:"images"`
}

// imageEventJSON is the data of an image event.
type imageEventJSON struct {
	Seq     int64          `json:"seq"`
	ImageID uuid.UUID      `json:"image_id"`
	Change  gallery.Change `json:"change"`
	Image   *imageJSON     `json:"image"`
	Order   []uuid.UUID    `json:"order"`
}

// productEventJSON is the data of a product event.
type productEventJSON struct {
	Seq     int64          `json:"seq"`
	Change  gallery.Change `json:"change"`
	Product *productJSON   `json:"product"`
}

// reasonJSON is the data of reload and gone events.
type reasonJSON struct {
	Reason string `json:"reason"`
}

func (s *Server) snapshotFrame(b gallery.ProductEvents) []byte {
	return sseFrame(b.Head, "snapshot", snapshotJSON{Seq: b.Head, Product: toProductJSON(b.Product),
		Images: s.galleryJSON(b.Product.ID, b.Images).Images})
}

// restartFrames are a reload event and a snapshot, written together so that a client never
// keeps the one without the other.
func (s *Server) restartFrames(b gallery.ProductEvents, reason string) []byte {
	return append(sseFrame(b.Head, "reload", reasonJSON{Reason: reason}), s.snapshotFrame(b)...)
}

func goneFrame(seq int64, reason string) []byte {
	return sseFrame(seq, "gone", reasonJSON{Reason: reason})
}

// eventFrames formats b's events, each with the image (or product) and the gallery's order as
// they are now.
func (s *Server) eventFrames(b gallery.ProductEvents) []seqFrame {
	images := make(map[uuid.UUID]imageJSON, len(b.Images))
	order := make([]uuid.UUID, 0, len(b.Images))
	for _, im := range b.Images {
		images[im.ID] = s.imageJSON(im)
		order = append(order, im.ID)
	}
	out := make([]seqFrame, 0, len(b.Events))
	for _, e := range b.Events {
		var data []byte
		if e.ImageID == uuid.Nil {
			ev := productEventJSON{Seq: e.Seq, Change: e.Change}
			if e.Change != gallery.ChangeDeleted {
				p := toProductJSON(b.Product)
				ev.Product = &p
			}
			data = sseFrame(e.Seq, "product", ev)
		} else {
			ev := imageEventJSON{Seq: e.Seq, ImageID: e.ImageID, Change: e.Change, Order: order}
			if im, ok := images[e.ImageID]; ok {
				ev.Image = &im
			}
			data = sseFrame(e.Seq, "image", ev)
		}
		out = append(out, seqFrame{seq: e.Seq, data: data})
	}
	return out
}
