package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

// statusOf maps a domain error code to its HTTP status: the one place where that is decided.
func statusOf(code gallery.Code) int {
	switch code {
	case gallery.EINVALID:
		return http.StatusBadRequest
	case gallery.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case gallery.EFORBIDDEN:
		return http.StatusForbidden
	case gallery.ERATELIMIT:
		return http.StatusTooManyRequests
	case gallery.ENOTFOUND, gallery.ENOTREADY:
		return http.StatusNotFound
	case gallery.ENOTACCEPT:
		return http.StatusNotAcceptable
	case gallery.ECONFLICT:
		return http.StatusConflict
	case gallery.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case gallery.EMEDIATYPE:
		return http.StatusUnsupportedMediaType
	case gallery.EPIXELS, gallery.ECORRUPT:
		return http.StatusUnprocessableEntity
	case gallery.EUNSUPPORTED:
		return http.StatusNotImplemented
	case gallery.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// retryAfterUnavailable is the Retry-After, in seconds, of writes refused during maintenance
// (the index build of `vitrine migrate adopt` pauses writes for a few seconds at most) and of
// uploads refused when every upload slot stayed taken.
const retryAfterUnavailable = "5"

// retryAfterNotReady is the Retry-After, in seconds, of a variant that is still being made.
const retryAfterNotReady = "5"

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers with the error's status and a client-safe body. Internal errors are
// logged with their cause and shown only as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := gallery.ErrorCode(err)
	status := statusOf(code)
	noteErrorCode(r, code)
	if code == gallery.EUNAVAILABLE {
		// A pause for maintenance, or a full upload queue, is expected and short: say when to
		// come back, log nothing.
		w.Header().Set("Retry-After", retryAfterUnavailable)
	} else if code == gallery.ENOTREADY {
		// A thumbnail job takes seconds.
		w.Header().Set("Retry-After", retryAfterNotReady)
	} else if status >= 500 {
		s.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	var body errorBody
	body.Error.Code = string(code)
	body.Error.Message = gallery.ErrorMessage(err)
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// maxJSONBody bounds JSON request bodies; the largest is a full reorder of a big gallery.
const maxJSONBody = 1 << 20

// readJSON decodes the request body into v, refusing unknown fields and trailing data.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return gallery.Errorf(gallery.ETOOLARGE, "the JSON body is larger than %d bytes", maxJSONBody)
		}
		return &gallery.Error{Code: gallery.EINVALID, Message: "the body is not valid JSON for this request", Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return gallery.Errorf(gallery.EINVALID, "the body has data after its JSON value")
	}
	return nil
}

// pathID parses the path parameter name as a UUID. A malformed id names nothing, so it is
// answered as not found.
func pathID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		return uuid.Nil, gallery.Errorf(gallery.ENOTFOUND, "%s %q is not a valid id", name, r.PathValue(name))
	}
	return id, nil
}

// beginWrite starts a request that changes data: the caller must be signed in, the path
// parameter param (when not "") must be an id, and the JSON body is decoded into body (when
// not nil). On failure it has answered the request and returns false.
func (s *Server) beginWrite(w http.ResponseWriter, r *http.Request, param string, body any) (uuid.UUID, bool) {
	if !s.requireSignedIn(w, r) {
		return uuid.Nil, false
	}
	var id uuid.UUID
	if param != "" {
		var err error
		if id, err = pathID(r, param); err != nil {
			s.writeError(w, r, err)
			return uuid.Nil, false
		}
	}
	if body != nil {
		if err := readJSON(w, r, body); err != nil {
			s.writeError(w, r, err)
			return uuid.Nil, false
		}
	}
	return id, true
}
