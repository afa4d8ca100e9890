// Package reqid carries a request's id: from the X-Request-Id header (or made up) into the
// request's context, its log lines, the jobs it enqueues (River job metadata) and their log
// lines.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
)

// Header is the HTTP header that carries a request id, in and out.
const Header = "X-Request-Id"

// MaxLen is the longest request id taken from a client.
const MaxLen = 64

// MetadataKey is the key of a job's request id in its River metadata.
const MetadataKey = "request_id"

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the request id ctx carries, "" for none.
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Valid reports whether id, from a client, may be used as a request id: 1 to MaxLen
// printable ASCII characters, no spaces (so it cannot break a log line or a header).
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// New returns a fresh random request id of 16 bytes in hex.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Choose returns the client's id when Valid, else a new one.
func Choose(fromClient string) string {
	if Valid(fromClient) {
		return fromClient
	}
	return New()
}

// FromMetadata returns the request id in a job's metadata, "" when it has none.
func FromMetadata(metadata []byte) string {
	if len(metadata) == 0 {
		return ""
	}
	var m struct {
		ID string `json:"request_id"`
	}
	if json.Unmarshal(metadata, &m) != nil || !Valid(m.ID) {
		return ""
	}
	return m.ID
}

// AddToMetadata returns metadata (a JSON object, or empty) with id under MetadataKey.
func AddToMetadata(metadata []byte, id string) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if len(metadata) > 0 {
		if err := json.Unmarshal(metadata, &m); err != nil {
			return nil, err
		}
	}
	v, err := json.Marshal(id)
	if err != nil {
		return nil, err
	}
	m[MetadataKey] = v
	return json.Marshal(m)
}

// Handler is a slog.Handler that adds the request id of the record's context, if any, as
// request_id to every record logged with a context.
type Handler struct{ slog.Handler }

// Handle adds request_id and passes the record on.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the handler a Handler.
func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the handler a Handler.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{h.Handler.WithGroup(name)}
}
