package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/upload"
)

// BulkImports bounds bulk imports (POST /v1/imports).
type BulkImports struct {
	MaxLines   int // lines of one import (each at most gallery.MaxImportLineBytes)
	MaxRunning int // unfinished imports of one supplier; 0: no bound
}

// bulkImportJSON is a bulk import's progress as the API shows it.
type bulkImportJSON struct {
	ID         uuid.UUID               `json:"id"`
	SupplierID *uuid.UUID              `json:"supplier_id"`
	Lines      int                     `json:"lines"`
	Queued     int                     `json:"queued"`
	Done       int                     `json:"done"`
	Failed     int                     `json:"failed"`
	CreatedAt  time.Time               `json:"created_at"`
	FinishedAt *time.Time              `json:"finished_at"`
	Failures   []bulkImportFailureJSON `json:"failures"`
	NextAfter  *int                    `json:"next_after"`
}

type bulkImportFailureJSON struct {
	Line    int    `json:"line"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func toBulkImportJSON(b gallery.BulkImport) bulkImportJSON {
	out := bulkImportJSON{ID: b.ID, Lines: b.Lines, Queued: b.Queued, Done: b.Done, Failed: b.Failed,
		CreatedAt: b.CreatedAt, FinishedAt: b.FinishedAt, Failures: make([]bulkImportFailureJSON, 0, len(b.Failures))}
	if b.SupplierID != uuid.Nil {
		out.SupplierID = &b.SupplierID
	}
	for _, f := range b.Failures {
		out.Failures = append(out.Failures, bulkImportFailureJSON{Line: f.Line, Code: f.Code, Message: f.Message})
	}
	if b.NextAfter != 0 {
		out.NextAfter = &b.NextAfter
	}
	return out
}

// createBulkImport takes a feed as NDJSON, one image a line ({"product_id" or
// "external_ref", "source_url", "alt", "position"}), streamed into the database as it
// arrives, and answers 202 with the import's id and progress; its lines are admitted in the
// background. A line that cannot be read is a failed line of the import; a body over the
// bounds (lines, bytes of a line) is refused whole, and leaves nothing. A user imports into
// the products of the supplier it acts for; the service role may name a supplier with ?supplier_id= (needed
// for lines with external_ref).
func (s *Server) createBulkImport(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.beginWrite(w, r, "", nil); !ok {
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	// A feed's body holds a database connection while it arrives: it takes an upload slot, so
	// that the server takes in a bounded number of bodies at once, whatever they are.
	release, ok := s.uploadSlot(w, r)
	if !ok {
		return
	}
	defer release()
	caller := s.caller(r)
	var supplier uuid.UUID
	if caller.Role == gallery.RoleAuthenticated {
		// A feed is the supplier's the user acts for, which it must be able to change.
		acting, canWrite, err := s.Gallery.ActingSupplier(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !canWrite {
			s.writeError(w, r, gallery.Errorf(gallery.EFORBIDDEN, "a viewer of a supplier's team imports nothing"))
			return
		}
		supplier = acting
	}
	if caller.Role == gallery.RoleService {
		supplier = uuid.Nil
		if v := r.URL.Query().Get("supplier_id"); v != "" {
			id, err := uuid.Parse(v)
			if err != nil {
				s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "supplier_id %q is not a valid id", v))
				return
			}
			supplier = id
		}
	}
	limits := s.BulkImports
	maxLines := max(limits.MaxLines, 1)
	body := http.MaxBytesReader(w, r.Body, int64(maxLines)*(gallery.MaxImportLineBytes+1))
	feed := newFeedReader(body, maxLines)
	id, err := s.Gallery.CreateBulkImport(r.Context(), supplier, limits.MaxRunning, feed.next)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := s.Gallery.BulkImport(r.Context(), id, 0, gallery.DefaultImportFailures)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/imports/"+id.String())
	writeJSON(w, http.StatusAccepted, toBulkImportJSON(b))
}

// getBulkImport answers an import's progress and its failed lines after ?after= (a line
// number), at most ?limit= of them.
func (s *Server) getBulkImport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	after, limit := 0, gallery.DefaultImportFailures
	if v := q.Get("after"); v != "" {
		if after, err = strconv.Atoi(v); err != nil || after < 0 || after > math.MaxInt32 {
			s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "after must be a line number"))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > gallery.MaxImportFailures {
			s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "limit must be a whole number from 1 to %d", gallery.MaxImportFailures))
			return
		}
	}
	b, err := s.Gallery.BulkImport(r.Context(), id, after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toBulkImportJSON(b))
}

// feedReader reads the lines of an NDJSON feed one at a time: at most maxLines lines (blank
// ones are skipped but counted, so that line numbers are the file's), each at most
// gallery.MaxImportLineBytes bytes.
type feedReader struct {
	sc       *bufio.Scanner
	maxLines int
	line     int // the number of the last line read
	lines    int // lines that were not blank
}

func newFeedReader(r io.Reader, maxLines int) *feedReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), gallery.MaxImportLineBytes)
	return &feedReader{sc: sc, maxLines: maxLines}
}

// next returns the next line that is not blank, false at the end of the feed, or an error
// when the feed breaks a bound or cannot be read.
func (f *feedReader) next() (gallery.BulkImportLine, bool, error) {
	for f.sc.Scan() {
		f.line++
		raw := bytes.TrimSpace(f.sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		f.lines++
		if f.lines > f.maxLines {
			return gallery.BulkImportLine{}, false, gallery.Errorf(gallery.ETOOLARGE, "the feed has more than %d lines", f.maxLines)
		}
		return parseFeedLine(f.line, raw), true, nil
	}
	err := f.sc.Err()
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil && f.lines == 0:
		return gallery.BulkImportLine{}, false, gallery.Errorf(gallery.EINVALID, "the feed has no lines")
	case err == nil:
		return gallery.BulkImportLine{}, false, nil
	case errors.Is(err, bufio.ErrTooLong):
		return gallery.BulkImportLine{}, false, gallery.Errorf(gallery.ETOOLARGE, "line %d is longer than %d bytes", f.line+1, gallery.MaxImportLineBytes)
	case errors.As(err, &tooLarge):
		return gallery.BulkImportLine{}, false, gallery.Errorf(gallery.ETOOLARGE, "the feed is larger than allowed")
	default:
		return gallery.BulkImportLine{}, false, &gallery.Error{Code: gallery.EINVALID, Message: "the feed was cut short", Err: err}
	}
}

// parseFeedLine reads one line of a feed; what is wrong with it is the line's Err.
func parseFeedLine(n int, raw []byte) gallery.BulkImportLine {
	l := gallery.BulkImportLine{Line: n}
	var v struct {
		ProductID   *string `json:"product_id"`
		ExternalRef *string `json:"external_ref"`
		SourceURL   *string `json:"source_url"`
		Alt         *string `json:"alt"`
		Position    *int64  `json:"position"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		l.Err = &gallery.Error{Code: gallery.EINVALID, Message: "the line is not a JSON object with product_id or external_ref, source_url, alt and position: " + jsonProblem(err)}
		return l
	}
	if _, err := dec.Token(); err != io.EOF {
		l.Err = gallery.Errorf(gallery.EINVALID, "the line has data after its JSON object")
		return l
	}
	fail := func(format string, args ...any) gallery.BulkImportLine {
		l.Err = gallery.Errorf(gallery.EINVALID, format, args...)
		return l
	}
	switch {
	case v.ProductID != nil && v.ExternalRef != nil:
		return fail("give product_id or external_ref, not both")
	case v.ProductID != nil:
		id, err := uuid.Parse(*v.ProductID)
		if err != nil || len(*v.ProductID) != 36 {
			return fail("product_id %q is not a valid id", *v.ProductID)
		}
		l.ProductID = id
	case v.ExternalRef != nil:
		ref, err := checkText("external_ref", *v.ExternalRef, gallery.MaxExternalRefLength)
		if err != nil {
			l.Err = err.(*gallery.Error)
			return l
		}
		if ref == "" {
			return fail("external_ref must not be empty")
		}
		l.ExternalRef = ref
	default:
		return fail("product_id or external_ref is required")
	}
	if v.SourceURL == nil || *v.SourceURL == "" {
		return fail("source_url is required")
	}
	if err := upload.CheckSourceURL(*v.SourceURL); err != nil {
		l.Err = &gallery.Error{Code: gallery.EINVALID, Message: gallery.ErrorMessage(err)}
		return l
	}
	l.SourceURL = *v.SourceURL
	if v.Alt != nil {
		alt, err := checkAlt(*v.Alt)
		if err != nil {
			l.Err = err.(*gallery.Error)
			return l
		}
		l.Alt = alt
	}
	if v.Position != nil {
		if *v.Position < 0 || *v.Position > math.MaxInt32 {
			return fail("position %d is not a position of a gallery (0 is the first)", *v.Position)
		}
		p := int(*v.Position)
		l.Position = &p
	}
	return l
}

// jsonProblem says what is wrong with a JSON value, without echoing it.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return "malformed JSON at byte " + strconv.FormatInt(syntax.Offset, 10)
	case errors.As(err, &typ):
		return typ.Field + " has the wrong type"
	default:
		return err.Error()
	}
}
