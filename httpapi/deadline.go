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

// drainGrace is how long a connection may still take, once its handler is done, to deliver
// the rest of a body the handler did not read (a body already sent is then read from the
// socket at once, and the connection closed cleanly); a client still trickling it is cut off.
// maxDrain bounds what is read then.
const (
	drainGrace = time.Second
	maxDrain   = 64 << 20
)

// bounded puts deadlines on every request: its response must be written within WriteTimeout
// of its start (for an upload, of the end of its body), and its body must arrive within
// BodyTimeout (an upload's body is timed by UploadTimeouts instead, see timedBody). A body
// that the handler does not read to its end is not drained for the next request: the answer
// says "Connection: close" and the connection is closed, so a client that declares a large
// body and sends it slowly holds nothing once it has been answered.
func (s *Server) bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// An error here means the connection cannot take deadlines (HTTP/2 tests, for
		// instance); the server's own timeouts still apply then.
		if s.WriteTimeout > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(s.WriteTimeout))
		}
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if s.BodyTimeout > 0 {
			_ = rc.SetReadDeadline(time.Now().Add(s.BodyTimeout))
		}
		// net/http drains up to 256 KiB of an unread body after the handler, to reuse the
		// connection, unless the response closes it; the body lifts this once it is read.
		w.Header().Set("Connection", "close")
		body := &trackedBody{ReadCloser: r.Body, rc: rc, header: w.Header()}
		r.Body = body
		next.ServeHTTP(w, r)
		if !body.eof {
			// The client may still be sending: send it the answer now, and read what it
			// sends for a moment (up to maxDrain), so that it reads the answer rather than a
			// connection reset by a close with unread data; one still sending after that is
			// cut off when the connection closes.
			_ = rc.Flush()
			_ = rc.SetReadDeadline(time.Now().Add(drainGrace))
			_, _ = io.Copy(io.Discard, io.LimitReader(body.ReadCloser, maxDrain))
		}
	})
}

// trackedBody notes when a request body has been read to its end: the connection may then
// be kept for the next request, and the body's read deadline is lifted, since net/http
// watches the idle connection for the client going away while the handler still runs, and
// would take that deadline passing for it.
type trackedBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	header http.Header
	eof    bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.eof {
		b.eof = true
		b.header.Del("Connection")
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// deadlineReader moves the connection's read deadline forward as bytes arrive, so a client
// that keeps sending may take up to Total, and one that stops is cut off after Stall.
type deadlineReader struct {
	r     io.Reader
	rc    *http.ResponseController
	stall time.Duration
	end   time.Time
	eof   bool
}

// timedBody returns the request's body timed as an upload's: see Timeouts. The response may
// then be written until WriteTimeout after the body's last allowed moment.
func (s *Server) timedBody(w http.ResponseWriter, r *http.Request) io.Reader {
	if s.UploadTimeouts.Stall <= 0 || s.UploadTimeouts.Total <= 0 {
		return r.Body
	}
	d := &deadlineReader{r: r.Body, rc: http.NewResponseController(w), stall: s.UploadTimeouts.Stall,
		end: time.Now().Add(s.UploadTimeouts.Total)}
	if s.WriteTimeout > 0 {
		_ = d.rc.SetWriteDeadline(d.end.Add(s.WriteTimeout))
	}
	return d
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.eof {
		// No new deadline once the body is over: it would cut the idle connection.
		return 0, io.EOF
	}
	next := time.Now().Add(d.stall)
	if next.After(d.end) {
		next = d.end
	}
	// An error here means the connection cannot take deadlines (HTTP/2 tests, for instance);
	// the server's own timeouts still apply then.
	_ = d.rc.SetReadDeadline(next)
	n, err := d.r.Read(p)
	if err == io.EOF {
		d.eof = true
		_ = d.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
