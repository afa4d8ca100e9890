package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRender turns a fixed sample of `go test -bench` output into the document and checks
// the medians and ratios it shows and that its charts are PNG images.
func TestRender(t *testing.T) {
	f, err := os.Open("testdata/sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parse(f, "sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := machine{Date: "2026-01-02 03:04 UTC", CPU: "Sample CPU", Cores: "2", Memory: "4 GB", Kernel: "Linux 6",
		PostgreSQL: "17.2", Libvips: "8.14.1", Go: "go1.26"}
	doc, err := render(res, m, "QUICK=1", filepath.Join(dir, "bench"), "bench")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| CPU | Sample CPU |", "| CPU as go test names it | Sample CPU |", "| PostgreSQL | 17.2 |", "| libvips | 8.14.1 |",
		// Medians of three runs: an outlier (900) does not move them; ratios of medians.
		"| 0.9MP | 120 | 160 | 320 | 1.33× | 2.67× | 3 |",
		"| 14.7MP | 390 | 620 | 1720 | 1.59× | 4.41× | 3 |",
		// Two runs: the mean of the two.
		"| 1 | 22.0 | 24.0 | 33.0 | 1.00× | 2 |",
		"| 16 | 260 | 410 | 34.0 | 11.82× | 2 |",
		"| metrics | 10.0 | 10.2 | 1.02× | 1 |",
		"![CPU time per thumbnail job against image size](bench/thumbnails.png)",
		"![Upload latency against concurrent clients](bench/uploads.png)",
		"make bench QUICK=0",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "takes more CPU than naive") {
		t.Error("the document says Vitrine takes more CPU than naive libvips at a size, where it takes less at every size")
	}
	for _, name := range []string{"thumbnails.png", "uploads.png"} {
		f, err := os.Open(filepath.Join(dir, "bench", name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
			t.Errorf("%s is %v, too small for a chart", name, b)
		}
	}
}

// TestParseRefusesEmpty: output without a benchmark line (a run that failed before any
// benchmark) is an error, not an empty document.
func TestParseRefusesEmpty(t *testing.T) {
	if _, err := parse(strings.NewReader("PASS\nok  \tx\t0.1s\n"), "empty"); err == nil {
		t.Fatal("no error for output without results")
	}
}

// TestRenderNamesCostlierSizes: the sizes where Vitrine takes more CPU than naive libvips
// are named under the table.
func TestRenderNamesCostlierSizes(t *testing.T) {
	out := `BenchmarkThumbnailSizes/size=0.9MP/impl=ours-2 1 1 ns/op 300 cpu-ms/op
BenchmarkThumbnailSizes/size=0.9MP/impl=naive-2 1 1 ns/op 200 cpu-ms/op
BenchmarkThumbnailSizes/size=0.9MP/impl=purego-2 1 1 ns/op 250 cpu-ms/op
BenchmarkThumbnailSizes/size=14.7MP/impl=ours-2 1 1 ns/op 400 cpu-ms/op
BenchmarkThumbnailSizes/size=14.7MP/impl=naive-2 1 1 ns/op 600 cpu-ms/op
BenchmarkThumbnailSizes/size=14.7MP/impl=purego-2 1 1 ns/op 1700 cpu-ms/op
`
	res, err := parse(strings.NewReader(out), "costlier")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := render(res, machine{}, "QUICK=1", t.TempDir(), "bench")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 0.9MP | 300 | 200 | 250 | 0.67× | 0.83× | 1 |", "At 0.9MP Vitrine takes more CPU than naive libvips"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks %q:\n%s", want, doc)
		}
	}
}
