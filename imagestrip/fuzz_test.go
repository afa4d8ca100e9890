package imagestrip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testheif"
	"github.com/vitrine-dev/vitrine/internal/testimages"

	"github.com/vitrine-dev/vitrine/imageinfo"
)

// fuzzLimit is the pixel limit given to imageinfo.Scan while fuzzing.
const fuzzLimit = 1 << 20

// fuzzSeeds returns small valid images of each format, with and without metadata, and
// damaged copies of them.
func fuzzSeeds(t testing.TB) [][]byte {
	t.Helper()
	var valid [][]byte
	img := testimages.Pattern(9, 5)
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	j := bytes.Clone(b.Bytes())
	b.Reset()
	png.Encode(&b, img)
	p := bytes.Clone(b.Bytes())
	b.Reset()
	gif.Encode(&b, img, nil)
	g := bytes.Clone(b.Bytes())
	valid = append(valid, j, p, g,
		withSegments(j, junk, jfifThumb, exifAPP1(binary.BigEndian, 6), xmpAPP1, iccAPP2, comment),
		append(append(bytes.Clone(p[:33]), testimages.PNGChunk("eXIf", cameraEXIF(binary.LittleEndian, 5))...),
			append(testimages.PNGChunk("tEXt", []byte("a\x00b")), p[33:]...)...),
		append(append(bytes.Clone(g[:13+int(gifTableSize(g[10]))]), gifExtension(0xfe, []byte("a comment"))...),
			g[13+int(gifTableSize(g[10])):]...),
	)
	for name := range webpHex {
		valid = append(valid, webpSample(t, name))
	}
	sample := webpChunks(t, webpSample(t, "lossy-alpha.webp"))
	valid = append(valid, riffFile(sample[0], sample[1], sample[2], riffChunk("EXIF", cameraEXIF(binary.BigEndian, 6))))
	valid = append(valid, testheif.Small(t, false), testheif.Small(t, true))

	var out [][]byte
	for _, v := range valid {
		out = append(out, v, v[:len(v)-1], v[:len(v)/2])
		flipped := bytes.Clone(v)
		flipped[len(v)/3] ^= 0xff
		out = append(out, flipped)
	}
	return out
}

// FuzzStrip checks that the stripper never panics, that it refuses input only with its
// sentinel errors, and that whatever imageinfo.Scan accepts it accepts too, producing an
// image that Scan accepts with the same Info and that stripping again leaves unchanged.
func FuzzStrip(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint16(i%5*300))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		out, err := stripChunked(data, int(chunk))
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		info, scanErr := imageinfo.Scan(bytes.NewReader(data), fuzzLimit)
		if scanErr != nil {
			return
		}
		if err != nil {
			t.Fatalf("Scan accepts %+v but the stripper says %v", info, err)
		}
		got, err := imageinfo.Scan(bytes.NewReader(out), fuzzLimit)
		if err != nil {
			t.Fatalf("Scan accepts the input (%+v) but not the output: %v", info, err)
		}
		if got != info {
			t.Fatalf("Scan says %+v of the output, %+v of the input", got, info)
		}
		again, err := stripChunked(out, len(out))
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("stripping the output again: %v, changed: %t", err, !bytes.Equal(again, out))
		}
	})
}
