package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/storage"
)

// contentTypes maps the extensions of Vitrine's object keys to their media types. Keys are
// made by Vitrine from sniffed types, so the extension is trusted; anything else is served as
// bytes.
var contentTypes = map[string]string{
	".jpg":  "image/jpeg",
	".png":  "image/png",
	".gif":  "image/gif",
	".webp": "image/webp",
	".avif": "image/avif",
	".heic": "image/heic",
	".heif": "image/heif",
}

// getObject serves a stored object with ETag, ranges and conditional requests. Keys are
// content hashes, so a response never changes and may be cached for a year.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if err := storage.ValidateKey(key); err != nil {
		s.writeError(w, r, gallery.Errorf(gallery.ENOTFOUND, "no such object"))
		return
	}
	if s.ObjectLocation != nil && r.Method == http.MethodGet {
		s.redirectObject(w, r, key)
		return
	}
	info, err := s.Store.Stat(r.Context(), key)
	if errors.Is(err, storage.ErrNotFound) {
		s.writeError(w, r, gallery.Errorf(gallery.ENOTFOUND, "no such object"))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ct, ok := contentTypes[path.Ext(key)]
	if !ok {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("ETag", info.ETag)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	if !servableRanges(r.Header.Get("Range"), info.Size) {
		// RFC 9110 lets a server ignore a Range header: the whole object, as a plain GET.
		r.Header.Del("Range")
	}
	or := &objectReader{ctx: r.Context(), store: s.Store, key: key, size: info.Size}
	defer or.Close()
	http.ServeContent(w, r, "", info.ModTime, or)
}

// redirectObject answers 302 Found with the object's location in the object store. Whether
// the object exists is left to the store to answer, which saves a request per read.
func (s *Server) redirectObject(w http.ResponseWriter, r *http.Request, key string) {
	loc, err := s.ObjectLocation(r.Context(), key)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("locating object %q: %w", key, err))
		return
	}
	w.Header().Set("Cache-Control", fmt.Sprintf("private, max-age=%d", int(s.ObjectLocationMaxAge.Seconds())))
	http.Redirect(w, r, loc, http.StatusFound)
}

// maxRanges is the most ranges one request may ask for; see servableRanges.
const maxRanges = 16

// servableRanges reports whether the Range header h of an object of size bytes may be served
// as asked: at most maxRanges ranges, in ascending order without overlapping, so that one
// open object serves them all by reading forward. Otherwise the header is ignored and the
// whole object is served (200), which costs no more than a GET without it. A header that is
// not valid is left to http.ServeContent, which answers it 416.
func servableRanges(h string, size int64) bool {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if h == "" || !ok {
		return true
	}
	if strings.Count(spec, ",") >= maxRanges {
		return false
	}
	end := int64(-1) // the last byte served so far
	for ra := range strings.SplitSeq(spec, ",") {
		first, last, ok := strings.Cut(strings.TrimSpace(ra), "-")
		if !ok {
			return true
		}
		var start, stop int64
		if first == "" { // the last n bytes
			n, err := strconv.ParseInt(last, 10, 64)
			if err != nil {
				return true
			}
			start, stop = max(size-n, 0), size-1
		} else {
			var err error
			if start, err = strconv.ParseInt(first, 10, 64); err != nil {
				return true
			}
			stop = size - 1
			if last != "" {
				if stop, err = strconv.ParseInt(last, 10, 64); err != nil {
					return true
				}
				stop = min(stop, size-1)
			}
			if start >= size {
				continue // not satisfiable: ServeContent leaves it out
			}
		}
		if start <= end {
			return false
		}
		end = stop
	}
	return true
}

// objectReader adapts a store object to the io.ReadSeeker that http.ServeContent wants: a
// Seek only moves the position, and the next Read opens the object from there, so serving a
// range reads only that range. A Seek forward on an open object skips to the position in it,
// so the ascending ranges of one request are served from one open object.
type objectReader struct {
	ctx   context.Context
	store storage.Store
	key   string
	size  int64
	pos   int64
	rc    io.ReadCloser
}

func (o *objectReader) Read(p []byte) (int, error) {
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if o.rc == nil {
		rc, _, err := o.store.Open(o.ctx, o.key, o.pos, -1)
		if err != nil {
			return 0, err
		}
		o.rc = rc
	}
	n, err := o.rc.Read(p)
	o.pos += int64(n)
	return n, err
}

func (o *objectReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.pos + offset
	case io.SeekEnd:
		abs = o.size + offset
	}
	if abs < 0 {
		return 0, errors.New("negative position")
	}
	if abs > o.pos && o.rc != nil && abs <= o.size {
		n, err := io.CopyN(io.Discard, o.rc, abs-o.pos)
		o.pos += n
		if err != nil {
			return o.pos, err
		}
		return abs, nil
	}
	if abs != o.pos && o.rc != nil {
		o.rc.Close()
		o.rc = nil
	}
	o.pos = abs
	return abs, nil
}

// Close releases the open object, if any.
func (o *objectReader) Close() error {
	if o.rc != nil {
		return o.rc.Close()
	}
	return nil
}
