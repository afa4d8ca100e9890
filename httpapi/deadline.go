package httpapi

import (
	"io"
	"net/http"
	"time"
)

// Timeouts bounds how long an upload's body may take: Stall is the longest wait for the next
// bytes, Total the whole body. A body that breaks either is cut off, and the upload leaves
// nothing behind.
type Timeouts struct {
	Stall time.Duration
	Total time.Duration
}

// deadlineReader moves the connection's read deadline forward as bytes arrive, so a client
// that keeps sending may take up to Total, and one that stops is cut off after Stall.
type deadlineReader struct {
	r     io.Reader
	rc    *http.ResponseController
	stall time.Duration
	end   time.Time
}

func (s *Server) timedBody(w http.ResponseWriter, r *http.Request) io.Reader {
	if s.UploadTimeouts.Stall <= 0 || s.UploadTimeouts.Total <= 0 {
		return r.Body
	}
	d := &deadlineReader{r: r.Body, rc: http.NewResponseController(w), stall: s.UploadTimeouts.Stall,
		end: time.Now().Add(s.UploadTimeouts.Total)}
	return d
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	next := time.Now().Add(d.stall)
	if next.After(d.end) {
		next = d.end
	}
	// An error here means the connection cannot take deadlines (HTTP/2 tests, for instance);
	// the server's own timeouts still apply then.
	_ = d.rc.SetReadDeadline(next)
	return d.r.Read(p)
}
