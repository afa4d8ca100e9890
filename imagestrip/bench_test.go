package imagestrip

import (
	"bytes"
	"io"
	"testing"

	"github.com/vitrine-dev/vitrine/imageinfo"
	"github.com/vitrine-dev/vitrine/internal/testheif"
)

// BenchmarkScanAndStrip measures what an upload costs before it reaches the store: one pass
// of imageinfo.Scan with the stripper fed by the same bytes, as upload.Service.Receive does,
// for the same photograph with the same EXIF (GPS) and XMP as a JPEG, a HEIC and an AVIF.
func BenchmarkScanAndStrip(b *testing.B) {
	heic, jpeg := testheif.Photo(b, false)
	avif, _ := testheif.Photo(b, true)
	for _, c := range []struct {
		name string
		data []byte
	}{{"jpeg", jpeg}, {"heic", heic}, {"avif", avif}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				w := NewWriter(io.Discard, nil)
				if _, err := imageinfo.Scan(io.TeeReader(bytes.NewReader(c.data), w), 1<<30); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
