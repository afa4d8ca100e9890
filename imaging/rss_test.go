package imaging

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/procstat"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// BenchmarkPeakRSS runs one job in a fresh process (this test binary, re-executed) and
// reports its peak resident set size from VmHWM in /proc/self/status, which counts libvips'
// C allocations and the mapped shared libraries as well as Go's heap. The target is
// 100 MiB for the common job (the WebP presets of a 14–16 MP photograph); the other jobs are there
// for comparison: AVIF encoding (libaom) adds about 35 MiB, and a progressive JPEG needs
// libjpeg to hold all its DCT coefficients (about 3 bytes a pixel) whatever the
// shrink-on-load. Run it with -benchtime=1x.
func BenchmarkPeakRSS(b *testing.B) {
	heavy := heavyOriginals(b)
	for _, tc := range []struct {
		name    string
		path    string
		file    bool
		formats string
	}{
		{"14.7MP_baseline_JPEG/bytes/webp", testphotos.Large(b), false, "webp"},
		{"14.7MP_baseline_JPEG/file/webp", testphotos.Large(b), true, "webp"},
		{"14.7MP_baseline_JPEG/bytes/webp+jpeg+avif", testphotos.Large(b), false, "webp,jpeg,avif"},
		{"17.9MP_progressive_JPEG/bytes/webp", testphotos.LargeOriginal(b), false, "webp"},
		{"17.9MP_progressive_JPEG/file/webp", testphotos.LargeOriginal(b), true, "webp"},
		{"49MP_lossless_WebP_34B/bytes/webp+jpeg", heavy["webp"], false, "webp,jpeg"},
		{"12MP_16bit_PNG/bytes/webp+jpeg", heavy["png16"], false, "webp,jpeg"},
		{"12MP_8bit_PNG/bytes/webp+jpeg", heavy["png8"], false, "webp,jpeg"},
		{"12MP_GIF/bytes/webp+jpeg", heavy["gif"], false, "webp,jpeg"},
		{"17.9MP_progressive_JPEG/bytes/webp+jpeg", testphotos.LargeOriginal(b), false, "webp,jpeg"},
		{"14.7MP_baseline_JPEG/bytes/webp+jpeg", testphotos.Large(b), false, "webp,jpeg"},
		{"12MP_baseline_JPEG/bytes/webp", testphotos.IPhoneJPEG(b), false, "webp"},
		{"12MP_HEIC/bytes/webp", testphotos.HEIC(b), false, "webp"},
		{"12MP_HEIC_grid/bytes/webp", testphotos.HEICGrid(b), false, "webp"},
		{"12MP_AVIF/bytes/webp", testphotos.AVIF(b), false, "webp"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var started, peak int64
			for range b.N {
				started, peak = jobPeakRSS(b, tc.path, tc.file, tc.formats)
			}
			b.ReportMetric(float64(started)/1024, "MiB-after-start")
			b.ReportMetric(float64(peak)/1024, "MiB-peak-RSS")
			b.ReportMetric(float64(peak-started)/1024, "MiB-job")
			b.ReportMetric(float64(estimateOf(b, tc.path))/(1<<20), "MiB-estimate")
		})
	}
}

// jobPeakRSS runs one job on the original at path (read by libvips from the file itself
// when fromFile) making the default presets in formats ("webp,jpeg") in a fresh process, and
// returns that process's peak RSS after Start and after the job, in KiB.
func jobPeakRSS(b *testing.B, path string, fromFile bool, formats string) (started, peak int64) {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "VITRINE_RSS_PROBE="+strings.Join([]string{path, strconv.FormatBool(fromFile), formats}, "|"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	i := strings.Index(string(out), "rss_probe")
	if i < 0 {
		b.Fatalf("no figures from child:\n%s", out)
	}
	if _, err := fmt.Sscanf(string(out[i:]), "rss_probe started_kib=%d peak_kib=%d", &started, &peak); err != nil {
		b.Fatalf("no figures from child: %v\n%s", err, out)
	}
	return started, peak
}

// estimateOf returns the memory estimate admission uses for the original at path.
func estimateOf(b *testing.B, path string) int64 {
	if _, err := Start(Config{Logger: slog.New(slog.DiscardHandler)}); err != nil {
		b.Fatal(err)
	}
	hdr, err := source{path: path}.readHeader()
	if err != nil {
		b.Fatal(err)
	}
	return hdr.memoryEstimate()
}

// TestMain lets BenchmarkPeakRSS re-execute this binary as a child that runs one job.
func TestMain(m *testing.M) {
	if probe := os.Getenv("VITRINE_RSS_PROBE"); probe != "" {
		if err := rssChild(probe); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// rssChild runs the job described by probe ("path|fromFile|format,format") and prints
// the process's peak RSS after Start and after the job.
func rssChild(probe string) error {
	parts := strings.Split(probe, "|")
	path, fromFile := parts[0], parts[1] == "true"
	var formats []Format
	for _, f := range strings.Split(parts[2], ",") {
		formats = append(formats, Format(f))
	}
	p, err := Start(Config{MaxJobs: 1})
	if err != nil {
		return err
	}
	started, err := vmHWM()
	if err != nil {
		return err
	}
	if fromFile {
		_, err = p.ProcessFile(context.Background(), path, DefaultPresets(), formats)
	} else {
		var src []byte
		if src, err = os.ReadFile(path); err == nil {
			_, err = p.Process(context.Background(), src, DefaultPresets(), formats)
		}
	}
	if err != nil {
		return err
	}
	peak, err := vmHWM()
	if err != nil {
		return err
	}
	fmt.Printf("rss_probe started_kib=%d peak_kib=%d\n", started, peak)
	return nil
}

// vmHWM returns the process's peak resident set size in KiB.
func vmHWM() (int64, error) {
	n, err := procstat.PeakRSS(os.Getpid())
	return n >> 10, err
}
