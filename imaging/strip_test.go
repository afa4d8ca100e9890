package imaging

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// metadataIn lists the metadata an encoded variant carries, by its container's structure
// and by telltale bytes anywhere in it.
func metadataIn(t *testing.T, v Variant) []string {
	t.Helper()
	var found []string
	switch v.Format {
	case JPEG:
		segments, _ := jpegSegments(t, v.Data)
		for _, s := range segments {
			switch s[1] {
			case 0xE1:
				found = append(found, "APP1 (EXIF or XMP)")
			case 0xE2:
				found = append(found, "APP2 (ICC)")
			case 0xED:
				found = append(found, "APP13 (IPTC)")
			}
		}
	case WebP:
		for rest := v.Data[12:]; len(rest) >= 8; {
			fourCC, size := string(rest[:4]), int(binary.LittleEndian.Uint32(rest[4:8]))
			if fourCC == "EXIF" || fourCC == "XMP " || fourCC == "ICCP" {
				found = append(found, "WebP "+fourCC+" chunk")
			}
			if fourCC == "VP8X" && rest[8]&0x2C != 0 {
				found = append(found, "VP8X metadata flags")
			}
			rest = rest[min(len(rest), 8+size+size&1):]
		}
	case AVIF:
		if bytes.Contains(v.Data, []byte("colrprof")) || bytes.Contains(v.Data, []byte("colrrICC")) {
			found = append(found, "AVIF ICC colour box")
		}
	}
	for _, marker := range []string{"Exif\x00", "http://ns.adobe.com/xap", "xmpmeta", "VitrineTestCam", "Vitrine Test", "ICC_PROFILE"} {
		if bytes.Contains(v.Data, []byte(marker)) {
			found = append(found, "bytes "+marker)
		}
	}
	return found
}

func TestNoMetadataInOutputs(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	// A real photograph with GPS EXIF, XMP and an ICC profile.
	src := withSegments(t, readFile(t, testphotos.Medium(t)),
		exifSegment(1, true), xmpSegment(), iccSegment(wideGamutProfile()))

	res := b.process(t, src, DefaultPresets(), allFormats)
	for _, v := range res.Variants {
		if found := metadataIn(t, v); len(found) > 0 {
			t.Errorf("%s %s carries metadata: %v", v.Preset, v.Format, found)
		}
	}
}

func TestEmbeddedProfileIsApplied(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	photo := readFile(t, testphotos.Medium(t))
	presets := []Preset{{"p", 160}}
	plain := variant(t, b.process(t, withSegments(t, photo), presets, []Format{WebP}), "p", WebP)
	wide := variant(t, b.process(t, withSegments(t, photo, iccSegment(wideGamutProfile())), presets, []Format{WebP}), "p", WebP)

	// The same pixel values in a wider gamut are more saturated colours: converted to
	// sRGB, the photo's mean chroma (max − min channel) must grow.
	chroma := func(v Variant) float64 {
		var sum float64
		for _, c := range meanGrid(decodeVariant(t, v), 16, 10) {
			sum += max(c[0], c[1], c[2]) - min(c[0], c[1], c[2])
		}
		return sum / 160
	}
	if p, w := chroma(plain), chroma(wide); w < p*1.1 {
		t.Errorf("mean chroma %.1f without a profile, %.1f with a wide-gamut one: want at least 10%% more", p, w)
	}
}

func TestStripWebP(t *testing.T) {
	t.Parallel()
	chunk := func(fourCC string, payload ...byte) []byte {
		c := binary.LittleEndian.AppendUint32([]byte(fourCC), uint32(len(payload)))
		c = append(c, payload...)
		if len(payload)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	riff := func(chunks ...[]byte) []byte {
		body := bytes.Join(append([][]byte{[]byte("WEBP")}, chunks...), nil)
		return append(binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(len(body))), body...)
	}
	vp8x := func(flags byte) []byte { return chunk("VP8X", flags, 0, 0, 0, 9, 0, 0, 9, 0, 0) }
	frame := chunk("VP8 ", 1, 2, 3)
	alpha := chunk("ALPH", 7)

	for name, tc := range map[string]struct{ in, want []byte }{
		"exif only":        {riff(vp8x(0x08), frame, chunk("EXIF", 1, 2)), riff(frame)},
		"all metadata":     {riff(vp8x(0x2C), chunk("ICCP", 1), frame, chunk("EXIF", 1), chunk("XMP ", 1)), riff(frame)},
		"alpha kept":       {riff(vp8x(0x18), alpha, frame, chunk("EXIF", 1)), riff(vp8x(0x10), alpha, frame)},
		"nothing to strip": {riff(frame), riff(frame)},
	} {
		got, err := stripWebP(tc.in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !bytes.Equal(got, tc.want) {
			t.Errorf("%s: got % x, want % x", name, got, tc.want)
		}
	}
	if _, err := stripWebP([]byte("RIFF\x10\x00\x00\x00WEBPVP8 \xff\x00\x00\x00")); err == nil {
		t.Error("truncated chunk: no error")
	}
}
