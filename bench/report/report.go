package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// results holds every value of a benchmark output: by benchmark name (without its
// Benchmark prefix and -GOMAXPROCS suffix), by unit, the values of the -count runs in order.
type results struct {
	names  []string // in the order first seen
	cpu    string   // the CPU as go test names it (its "cpu:" line)
	values map[string]map[string][]float64
}

// parse reads the output of `go test -bench`, in the format of golang.org/x/perf/benchfmt.
func parse(r io.Reader, fileName string) (*results, error) {
	res := &results{values: map[string]map[string][]float64{}}
	br := benchfmt.NewReader(r, fileName)
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, rec
		case *benchfmt.Result:
			name := stripProcs(string(rec.Name.Full()))
			if res.cpu == "" {
				res.cpu = strings.TrimSpace(rec.GetConfig("cpu"))
			}
			if res.values[name] == nil {
				res.values[name] = map[string][]float64{}
				res.names = append(res.names, name)
			}
			for _, v := range rec.Values {
				res.values[name][v.Unit] = append(res.values[name][v.Unit], v.Value)
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, err
	}
	if len(res.names) == 0 {
		return nil, fmt.Errorf("%s has no benchmark results", fileName)
	}
	return res, nil
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

func stripProcs(name string) string { return procsSuffix.ReplaceAllString(name, "") }

// median returns the median of name's values in unit (the mean of the middle two of an
// even count), and whether there are any.
func (r *results) median(name, unit string) (float64, bool) {
	v := slices.Clone(r.values[name][unit])
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

// param returns the value of key=value in a sub-benchmark name, such as "size" in
// "ThumbnailSizes/size=3.7MP/impl=ours" (benchfmt drops the Benchmark prefix).
func param(name, key string) string {
	for _, p := range strings.Split(name, "/") {
		if k, v, ok := strings.Cut(p, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// withPrefix returns the names starting with prefix+"/", in order.
func (r *results) withPrefix(prefix string) []string {
	var out []string
	for _, n := range r.names {
		if strings.HasPrefix(n, prefix+"/") {
			out = append(out, n)
		}
	}
	return out
}

// distinct returns the distinct values of key among names, in order of first appearance.
func distinct(names []string, key string) []string {
	var out []string
	for _, n := range names {
		if v := param(n, key); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func num(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func cell(r *results, name, unit string) string {
	if v, ok := r.median(name, unit); ok {
		return num(v)
	}
	return "–"
}

func ratio(r *results, a, b, unit string) string {
	va, okA := r.median(a, unit)
	vb, okB := r.median(b, unit)
	if !okA || !okB || vb == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", va/vb)
}

const (
	thumbs  = "ThumbnailSizes"
	uploads = "UploadConcurrency"
	observe = "UploadObservability"
)

// render returns docs/BENCHMARKS.md for res and writes its charts into chartDir, which the
// document links to as chartLink.
func render(res *results, m machine, mode, chartDir, chartLink string) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmarks\n\n")
	w("Made by `make bench` (%s) on %s; every figure below is from that one run, each the\n", mode, m.Date)
	w("median of the runs of `-count`, and every ratio is against a baseline measured in the same\n")
	w("run. Regenerate this file and its charts with `make bench` (see [How to rerun](#how-to-rerun)).\n\n")
	w("## Machine\n\n| | |\n|---|---|\n")
	for _, kv := range [][2]string{{"CPU", m.CPU}, {"Cores (logical)", m.Cores}, {"Memory", m.Memory},
		{"CPU as go test names it", res.cpu}, {"Kernel", m.Kernel}, {"PostgreSQL", m.PostgreSQL}, {"libvips", m.Libvips}, {"Go", m.Go}} {
		w("| %s | %s |\n", kv[0], kv[1])
	}
	w("\nThe machine may have been running other work at the same time; CPU time per job (rather\n")
	w("than wall time) is what the thumbnail table reports because other load barely changes it.\n")

	if names := res.withPrefix(thumbs); len(names) > 0 {
		w("\n## Thumbnails: CPU time against image size\n\n")
		w("The four default presets in WebP from one photograph (testphotos.Large, 5120×2880, and\n")
		w("the same scene scaled to smaller sizes), one job per iteration, CPU time of the whole\n")
		w("process per job (`cpu-ms/op`): **Vitrine** (`imaging.Process`: one decode with\n")
		w("shrink-on-load, every preset from it, plus ThumbHash and dominant colour), **naive\n")
		w("libvips** (libvips' thumbnail once per preset, same WebP settings), **pure Go**\n")
		w("(image/jpeg decode, x/image/draw CatmullRom, JPEG output: Go has no WebP encoder, which\n")
		w("favours it). Source: `BenchmarkThumbnailSizes` in imaging/bench_test.go.\n\n")
		w("| Size | Vitrine ms | naive libvips ms | pure Go ms | naive / Vitrine | pure Go / Vitrine | runs |\n")
		w("|---|---:|---:|---:|---:|---:|---:|\n")
		var series [3]plotter.XYs
		var costlier []string // the sizes where Vitrine takes more CPU than naive libvips
		for _, size := range distinct(names, "size") {
			n := func(impl string) string { return thumbs + "/size=" + size + "/impl=" + impl }
			w("| %s | %s | %s | %s | %s | %s | %d |\n", size, cell(res, n("ours"), "cpu-ms/op"),
				cell(res, n("naive"), "cpu-ms/op"), cell(res, n("purego"), "cpu-ms/op"),
				ratio(res, n("naive"), n("ours"), "cpu-ms/op"), ratio(res, n("purego"), n("ours"), "cpu-ms/op"),
				len(res.values[n("ours")]["cpu-ms/op"]))
			ours, okO := res.median(n("ours"), "cpu-ms/op")
			naive, okN := res.median(n("naive"), "cpu-ms/op")
			if okO && okN && ours > naive {
				costlier = append(costlier, size)
			}
			mp, err := strconv.ParseFloat(strings.TrimSuffix(size, "MP"), 64)
			if err != nil {
				return "", fmt.Errorf("size %q of %s is not in megapixels", size, thumbs)
			}
			for i, impl := range []string{"ours", "naive", "purego"} {
				if v, ok := res.median(n(impl), "cpu-ms/op"); ok {
					series[i] = append(series[i], plotter.XY{X: mp, Y: v})
				}
			}
		}
		if len(costlier) > 0 {
			w("\nAt %s Vitrine takes more CPU than naive libvips: shrink-on-load has little to\n", strings.Join(costlier, ", "))
			w("save on a small original, while Process also makes the ThumbHash placeholder and the\n")
			w("dominant colour, which the baselines do not.\n")
		}
		err := chart(filepath.Join(chartDir, "thumbnails.png"), "Thumbnail job: CPU time against image size",
			"megapixels", "CPU ms per job", []string{"Vitrine", "naive libvips", "pure Go"}, series[:])
		if err != nil {
			return "", err
		}
		w("\n![CPU time per thumbnail job against image size](%s/thumbnails.png)\n", chartLink)
	}

	if names := res.withPrefix(uploads); len(names) > 0 {
		w("\n## Uploads: latency against concurrency\n\n")
		w("One `vitrine serve` without workers on loopback, rate limits off, a 1680×1050 photograph\n")
		w("of 1 MB (testphotos.Medium); each iteration every client uploads once at the same time,\n")
		w("to a product of its own. Latency is the upload's POST to its 201; uploads/s counts the\n")
		w("untimed product creation too. The baseline of the ratio is one client. Source:\n")
		w("`BenchmarkUploadConcurrency` in cmd/vitrine/observe_bench_test.go.\n\n")
		w("| Clients | p50 ms | p99 ms | uploads/s | p50 / 1 client | runs |\n|---:|---:|---:|---:|---:|---:|\n")
		first := uploads + "/clients=" + distinct(names, "clients")[0]
		var p50, p99 plotter.XYs
		for _, c := range distinct(names, "clients") {
			n := uploads + "/clients=" + c
			w("| %s | %s | %s | %s | %s | %d |\n", c, cell(res, n, "p50-ms"), cell(res, n, "p99-ms"),
				cell(res, n, "uploads/s"), ratio(res, n, first, "p50-ms"), len(res.values[n]["p50-ms"]))
			x, err := strconv.ParseFloat(c, 64)
			if err != nil {
				return "", fmt.Errorf("clients %q of %s is not a number", c, uploads)
			}
			if v, ok := res.median(n, "p50-ms"); ok {
				p50 = append(p50, plotter.XY{X: x, Y: v})
			}
			if v, ok := res.median(n, "p99-ms"); ok {
				p99 = append(p99, plotter.XY{X: x, Y: v})
			}
		}
		err := chart(filepath.Join(chartDir, "uploads.png"), "Upload latency against concurrent clients",
			"concurrent clients", "latency ms", []string{"p50", "p99"}, []plotter.XYs{p50, p99})
		if err != nil {
			return "", err
		}
		w("\n![Upload latency against concurrent clients](%s/uploads.png)\n", chartLink)
	}

	if names := res.withPrefix(observe); len(names) > 0 {
		w("\n## Uploads: cost of metrics and tracing\n\n")
		w("The same upload to two `vitrine serve` processes in alternation, one with the feature on\n")
		w("and one with it off (the baseline), in the same run; the ratio is of their median\n")
		w("latencies (target ≤ 1.03). Source: `BenchmarkUploadObservability` in\n")
		w("cmd/vitrine/observe_bench_test.go.\n\n")
		w("| On | median ms off | median ms on | on / off | runs |\n|---|---:|---:|---:|---:|\n")
		for _, n := range names {
			w("| %s | %s | %s | %s× | %d |\n", strings.TrimPrefix(n, observe+"/"), cell(res, n, "ms-median-off"),
				cell(res, n, "ms-median-on"), cell(res, n, "ratio-on/off"), len(res.values[n]["ratio-on/off"]))
		}
	}

	w("\n## All results\n\nEvery benchmark of the run with the median of each of its units.\n\n")
	w("| Benchmark | Medians |\n|---|---|\n")
	for _, n := range res.names {
		units := make([]string, 0, len(res.values[n]))
		for u := range res.values[n] {
			units = append(units, u)
		}
		slices.Sort(units)
		var parts []string
		for _, u := range units {
			parts = append(parts, cell(res, n, u)+" "+u)
		}
		w("| `Benchmark%s` | %s |\n", n, strings.Join(parts, ", "))
	}
	w("%s", rerun)
	return b.String(), nil
}

const rerun = `
## How to rerun

    make bench          # QUICK=1: few iterations, a few minutes on 2 CPUs
    make bench QUICK=0  # more iterations and runs, for figures to quote

It needs libvips, a PostgreSQL at TEST_DATABASE_URL (as the tests do) and the test
photographs (fetched on first use, see internal/testphotos). The raw output stays in
bin/bench.txt; compare two runs with benchstat.

Heavier benchmarks are left out of ` + "`make bench`" + ` and run on their own: ` + "`make bench-uploads`" + `
(peak RSS and throughput against a baseline commit it builds), ` + "`make bench-events`" + `,
` + "`make bench-insert`" + `, ` + "`make bench-purge`" + `, ` + "`make bench-ui`" + `, and the design alternatives of
imaging (` + "`go test ./imaging -run '^$' -bench Designs`" + `).
`

// chart writes a line chart with points of series, one per name, to path as PNG.
func chart(path, title, x, y string, names []string, series []plotter.XYs) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	var args []any
	for i, name := range names {
		if len(series[i]) > 0 {
			args = append(args, name, series[i])
		}
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return fmt.Errorf("charting %s: %w", path, err)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
}
