package bulkimport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	for in, want := range map[string]Format{
		`{"product_id": "x"}`:      NDJSON,
		"\n  \t{}":                 NDJSON,
		"product_id,source_url\n":  CSV,
		"\ufeffexternal_ref,alt\n": CSV,
		"":                         CSV,
		strings.Repeat(" ", 5000):  CSV,
	} {
		if got := Detect(bufio.NewReader(strings.NewReader(in))); got != want {
			t.Errorf("Detect(%.20q) = %s, want %s", in, got, want)
		}
	}
}

// TestCSVToNDJSON turns records into lines with only their non-empty fields, whole-number
// positions as numbers (others as text, for the server to refuse), and maps each record to
// its line in the file, quoted fields over several lines included.
func TestCSVToNDJSON(t *testing.T) {
	in := "x,https://a.test/1,\"two\nlines\",\n" + "y,https://a.test/2,,3\n" + "z,https://a.test/3,,first\n"
	cr := csv.NewReader(strings.NewReader(in))
	cr.FieldsPerRecord = -1
	var out bytes.Buffer
	lines, err := csvToNDJSON(cr, []string{"external_ref", "source_url", "alt", "position"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"alt":"two\nlines","external_ref":"x","source_url":"https://a.test/1"}` + "\n" +
		`{"external_ref":"y","position":3,"source_url":"https://a.test/2"}` + "\n" +
		`{"external_ref":"z","position":"first","source_url":"https://a.test/3"}` + "\n"
	if out.String() != want {
		t.Errorf("NDJSON:\n%s\nwant:\n%s", out.String(), want)
	}
	if !slices.Equal(lines, []int{1, 3, 4}) {
		t.Errorf("file lines %v, want [1 3 4]", lines)
	}
}

// TestStartRefusesUnknownColumns refuses a CSV whose header names a column the feed does not
// have, before anything is sent.
func TestStartRefusesUnknownColumns(t *testing.T) {
	c, err := New("http://127.0.0.1:1", "token", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Start(context.Background(), strings.NewReader("sku,source_url\nx,https://a.test/1\n"), CSV, nil)
	if err == nil || !strings.Contains(err.Error(), `"sku"`) {
		t.Fatalf("Start: %v, want a refusal of column sku", err)
	}
}
