// Package bulkimport is the client side of bulk imports (`vitrine import`): it reads a feed
// file, CSV with a header row or NDJSON, sends it to a Vitrine server's POST /v1/imports as
// NDJSON while reading it (never whole in memory), and follows the import through GET
// /v1/imports/{id} until it finishes. It speaks to the server over the API only, through
// the client generated from the API's document, so it needs a bearer token and no access to
// the database: the server applies its bounds, rate limits and tenancy to every feed.
package bulkimport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/apiclient"
)

// Format is a feed file's format.
type Format string

// The formats of feed files.
const (
	CSV    Format = "csv"
	NDJSON Format = "ndjson"
)

// Columns are the fields of a feed's line: a CSV's header names some of them, in any order;
// an NDJSON line is an object with them.
var Columns = []string{"product_id", "external_ref", "source_url", "alt", "position"}

// Client sends feeds to one server as one caller.
type Client struct {
	api *apiclient.ClientWithResponses
}

// New returns a client of the server at baseURL that sends token as its bearer token.
func New(baseURL, token string, hc *http.Client) (*Client, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	api, err := apiclient.NewClientWithResponses(strings.TrimRight(baseURL, "/"), apiclient.WithHTTPClient(hc),
		apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	if err != nil {
		return nil, err
	}
	return &Client{api: api}, nil
}

// Detect returns the format of a feed from its first bytes: NDJSON when the first character
// that is not blank opens a JSON object, CSV otherwise.
func Detect(r *bufio.Reader) Format {
	for i := 1; ; i++ {
		b, err := r.Peek(i)
		if err != nil || i > 4096 {
			return CSV
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return NDJSON
		default:
			return CSV
		}
	}
}

// Sent is a feed the server took.
type Sent struct {
	Import *apiclient.BulkImport
	// FileLines maps the server's line numbers to the file's for a CSV feed (whose header,
	// and whose quoted fields that span lines, the server does not see): the server's line n
	// is the file's line FileLines[n-1]. Nil for NDJSON, whose lines are the file's.
	FileLines []int
}

// FileLine returns the file's line of the server's line n.
func (s Sent) FileLine(n int) int {
	if s.FileLines == nil || n < 1 || n > len(s.FileLines) {
		return n
	}
	return s.FileLines[n-1]
}

// Start sends the feed that r holds in format f and returns the import the server made of it
// (202). supplier, when not nil, names the supplier of a service-role caller's import. A CSV
// feed is turned into NDJSON as it is read and sent; one whose header names a column that is
// not in Columns is refused before anything is sent.
func (c *Client) Start(ctx context.Context, r io.Reader, f Format, supplier *uuid.UUID) (Sent, error) {
	body := r
	var converted chan []int
	if f == CSV {
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		header, err := cr.Read()
		if err != nil {
			return Sent{}, fmt.Errorf("reading the CSV header: %w", err)
		}
		cols := slices.Clone(header)
		for i, h := range cols {
			cols[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
			if !slices.Contains(Columns, cols[i]) {
				return Sent{}, fmt.Errorf("the CSV header names %q, which is not one of %s", cols[i], strings.Join(Columns, ", "))
			}
		}
		pr, pw := io.Pipe()
		converted = make(chan []int, 1)
		go func() {
			lines, err := csvToNDJSON(cr, cols, pw)
			pw.CloseWithError(err)
			converted <- lines
		}()
		defer func() {
			pr.Close() // a server that answered early stops the conversion
			<-converted
		}()
		body = pr
	}
	resp, err := c.api.CreateBulkImportWithBodyWithResponse(ctx, &apiclient.CreateBulkImportParams{SupplierId: supplier},
		"application/x-ndjson", body)
	if err != nil {
		return Sent{}, fmt.Errorf("sending the feed: %w", err)
	}
	if resp.JSON202 == nil {
		return Sent{}, apiError(resp.HTTPResponse, resp.Body)
	}
	sent := Sent{Import: resp.JSON202}
	if converted != nil {
		sent.FileLines = <-converted
		converted <- sent.FileLines // for the deferred wait
	}
	return sent, nil
}

// csvToNDJSON writes each record of cr as an NDJSON line of the columns cols, leaving out the
// empty fields, and returns the file's line of each record. A position that is not a whole
// number is sent as text, so that the server reports that line as failed, as it reports
// every line it cannot read.
func csvToNDJSON(cr *csv.Reader, cols []string, w io.Writer) ([]int, error) {
	bw := bufio.NewWriter(w)
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return lines, bw.Flush()
		}
		if err != nil {
			return lines, fmt.Errorf("reading the CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		lines = append(lines, line)
		obj := make(map[string]any, len(cols))
		for i, v := range rec {
			if i >= len(cols) || v == "" {
				continue
			}
			obj[cols[i]] = v
			if cols[i] == "position" {
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					obj[cols[i]] = n
				}
			}
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return lines, err
		}
		bw.Write(b)
		if err := bw.WriteByte('\n'); err != nil {
			return lines, err
		}
	}
}

// Get returns an import's progress and its failed lines after line after.
func (c *Client) Get(ctx context.Context, id uuid.UUID, after int) (*apiclient.BulkImport, error) {
	limit := 1000
	resp, err := c.api.GetBulkImportWithResponse(ctx, id, &apiclient.GetBulkImportParams{After: &after, Limit: &limit})
	if err != nil {
		return nil, fmt.Errorf("reading import %s: %w", id, err)
	}
	if resp.JSON200 == nil {
		return nil, apiError(resp.HTTPResponse, resp.Body)
	}
	return resp.JSON200, nil
}

// Wait reads an import every poll until it has finished, calling progress with each read,
// and returns the last.
func (c *Client) Wait(ctx context.Context, id uuid.UUID, poll time.Duration, progress func(*apiclient.BulkImport)) (*apiclient.BulkImport, error) {
	for {
		b, err := c.Get(ctx, id, 0)
		if err != nil {
			return nil, err
		}
		if progress != nil {
			progress(b)
		}
		if b.FinishedAt != nil {
			return b, nil
		}
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Failures returns an import's failed lines, at most max of them, in line order.
func (c *Client) Failures(ctx context.Context, id uuid.UUID, max int) ([]apiclient.BulkImportFailure, error) {
	var out []apiclient.BulkImportFailure
	after := 0
	for len(out) < max {
		b, err := c.Get(ctx, id, after)
		if err != nil {
			return nil, err
		}
		out = append(out, b.Failures...)
		if b.NextAfter == nil {
			break
		}
		after = *b.NextAfter
	}
	return out[:min(len(out), max)], nil
}

// apiError is the error of an answer that is not the one asked for: the API's code and
// message when the body has them.
func apiError(resp *http.Response, body []byte) error {
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		return fmt.Errorf("the server answered %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
	}
	return fmt.Errorf("the server answered %d: %s", resp.StatusCode, bytes.TrimSpace(body[:min(len(body), 200)]))
}
