package imageinfo

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
	"github.com/vitrine-dev/vitrine/internal/testimages"
)

// ihdr returns an IHDR chunk.
func ihdr(w, h uint32, depth, color, interlace byte) []byte {
	d := binary.BigEndian.AppendUint32(nil, w)
	d = binary.BigEndian.AppendUint32(d, h)
	return testimages.PNGChunk("IHDR", append(d, depth, color, 0, 0, interlace))
}

// pngFile joins the signature, an IHDR chunk, the given chunks and IEND.
func pngFile(ihdrChunk []byte, chunks ...[]byte) []byte {
	b := append([]byte{}, imageformat.PNGSignature...)
	b = append(b, ihdrChunk...)
	for _, c := range chunks {
		b = append(b, c...)
	}
	return append(b, testimages.PNGChunk("IEND", nil)...)
}

// idatChunks splits compressed data into IDAT chunks of at most 7 bytes, to
// exercise the reading of consecutive chunks.
func idatChunks(z []byte) [][]byte {
	var out [][]byte
	for len(z) > 0 {
		n := min(len(z), 7)
		out = append(out, testimages.PNGChunk("IDAT", z[:n]))
		z = z[n:]
	}
	return out
}

func zlibBytes(raw []byte) []byte {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	zw.Write(raw)
	zw.Close()
	return buf.Bytes()
}

// pngRaw3x2 returns the uncompressed image data of a 3×2 8-bit greyscale PNG.
func pngRaw3x2() []byte {
	return []byte{0, 1, 2, 3, 1, 4, 5, 6} // two scanlines: filter byte + 3 pixels
}

func TestPNGSuite(t *testing.T) {
	files := testimages.GoRootFiles(t, "image/png/testdata/pngsuite/*.png")
	n := 0
	for _, name := range testimages.SortedNames(files) {
		info, err := Scan(bytes.NewReader(files[name]), noLimit)
		cfg, err2 := png.DecodeConfig(bytes.NewReader(files[name]))
		if err != nil || err2 != nil || info.Width != cfg.Width || info.Height != cfg.Height {
			t.Errorf("%s: Scan: %+v, %v; png.DecodeConfig: %+v, %v", name, info, err, cfg, err2)
		}
		n++
	}
	t.Logf("%d PngSuite files", n)
}

// TestPNGSuiteCorrupt rebuilds PngSuite's corrupt x*.png files, which Go's
// copy of the suite leaves out, by applying the documented defect to the
// valid file it was made from.
func TestPNGSuiteCorrupt(t *testing.T) {
	files := testimages.GoRootFiles(t, "image/png/testdata/pngsuite/basn*.png")
	patched := func(base string, f func(b []byte) []byte) []byte {
		return f(bytes.Clone(files[base]))
	}
	// setIHDR changes an IHDR byte and fixes the CRC, so that the defect is
	// the field itself.
	setIHDR := func(base string, off int, v byte) []byte {
		return patched(base, func(b []byte) []byte {
			b[16+off] = v
			binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
			return b
		})
	}
	setByte := func(base string, off int, v byte) []byte {
		return patched(base, func(b []byte) []byte { b[off] = v; return b })
	}
	replaceSig := func(base, sig string) []byte {
		return patched(base, func(b []byte) []byte { return append([]byte(sig), b[8:]...) })
	}
	dropIDAT := patched("basn0g01.png", func(b []byte) []byte {
		i := bytes.Index(b, []byte("IDAT")) - 4
		n := int(binary.BigEndian.Uint32(b[i:]))
		return append(b[:i], b[i+12+n:]...)
	})
	corruptIDATCRC := patched("basn0g01.png", func(b []byte) []byte {
		i := bytes.Index(b, []byte("IDAT"))
		b[i+4+int(binary.BigEndian.Uint32(b[i-4:]))] ^= 1 // first CRC byte
		return b
	})
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"xs1n0g01 (signature byte 1)", setByte("basn0g01.png", 0, 0x88), ErrUnsupported},
		{"xs2n0g01 (signature byte 2)", setByte("basn0g01.png", 1, 'Q'), ErrUnsupported},
		{"xs4n0g01 (signature byte 4)", setByte("basn0g01.png", 3, 'g'), ErrUnsupported},
		{"xs7n0g01 (signature byte 7)", setByte("basn0g01.png", 6, 0x1b), ErrUnsupported},
		{"xcrn0g04 (added CR bytes)", replaceSig("basn0g04.png", "\x89PNG\r\r\n\x1a\r\n"), ErrUnsupported},
		{"xlfn0g04 (added LF bytes)", replaceSig("basn0g04.png", "\x89PNG\r\n\n\x1a\n\n"), ErrUnsupported},
		{"CRLF converted to LF", replaceSig("basn0g04.png", "\x89PNG\n\x1a\n"), ErrUnsupported},
		{"xhdn0g08 (IHDR checksum)", setByte("basn0g08.png", 29, files["basn0g08.png"][29]^0xff), ErrCorrupt},
		{"xc1n0g08 (colour type 1)", setIHDR("basn0g08.png", 9, 1), ErrCorrupt},
		{"xc9n2c08 (colour type 9)", setIHDR("basn2c08.png", 9, 9), ErrCorrupt},
		{"xd0n2c08 (bit depth 0)", setIHDR("basn2c08.png", 8, 0), ErrCorrupt},
		{"xd3n2c08 (bit depth 3)", setIHDR("basn2c08.png", 8, 3), ErrCorrupt},
		{"xd9n2c08 (bit depth 99)", setIHDR("basn2c08.png", 8, 99), ErrCorrupt},
		{"xdtn0g01 (missing IDAT)", dropIDAT, ErrCorrupt},
		{"xcsn0g01 (IDAT checksum)", corruptIDATCRC, ErrCorrupt},
		{"compression method 1", setIHDR("basn0g08.png", 10, 1), ErrCorrupt},
		{"filter method 1", setIHDR("basn0g08.png", 11, 1), ErrCorrupt},
		{"interlace method 2", setIHDR("basn0g08.png", 12, 2), ErrCorrupt},
		{"palette depth 16", setIHDR("basn3p08.png", 8, 16), ErrCorrupt},
		{"zero width", setIHDR("basn0g08.png", 3, 0), ErrCorrupt},
		{"width 2^31", setIHDR("basn0g08.png", 0, 0x80), ErrCorrupt},
	}
	for _, tt := range tests {
		_, err := Scan(bytes.NewReader(tt.data), noLimit)
		checkErr(t, tt.name, err, tt.want)
		if err != nil {
			checkMessage(t, err)
		}
		// Go's decoder must agree that these files are bad.
		if _, err := png.Decode(bytes.NewReader(tt.data)); err == nil {
			t.Errorf("%s: png.Decode accepts it", tt.name)
		}
	}
}

func TestPNGInvalidGoTestdata(t *testing.T) {
	files := testimages.GoRootFiles(t, "image/png/testdata/invalid-*.png")
	for _, name := range testimages.SortedNames(files) {
		_, err := Scan(bytes.NewReader(files[name]), noLimit)
		if name == "invalid-palette.png" {
			// Its pixels use palette indices beyond the palette. Go's decoder
			// and libpng accept that (the pixels come out black), and finding
			// it would need a row buffer to undo the filters, so Scan accepts
			// the file.
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		checkErr(t, name, err, ErrCorrupt)
	}
}

func TestPNGImageDataSize(t *testing.T) {
	hdr := ihdr(3, 2, 8, 0, 0)
	raw := pngRaw3x2()
	valid := pngFile(hdr, idatChunks(zlibBytes(raw))...)
	if _, err := png.Decode(bytes.NewReader(valid)); err != nil {
		t.Fatalf("test PNG is not valid: %v", err)
	}
	if info, err := Scan(bytes.NewReader(valid), noLimit); err != nil || info.Width != 3 || info.Height != 2 {
		t.Fatalf("valid: %+v, %v", info, err)
	}

	badFilter := bytes.Clone(raw)
	badFilter[4] = 5
	tests := map[string][]byte{
		"one byte too many": pngFile(hdr, idatChunks(zlibBytes(append(bytes.Clone(raw), 0)))...),
		"one byte short":    pngFile(hdr, idatChunks(zlibBytes(raw[:len(raw)-1]))...),
		"empty stream":      pngFile(hdr, idatChunks(zlibBytes(nil))...),
		"bad filter type":   pngFile(hdr, idatChunks(zlibBytes(badFilter))...),
		"zero-length IDAT":  pngFile(hdr, testimages.PNGChunk("IDAT", nil)),
		"not zlib":          pngFile(hdr, testimages.PNGChunk("IDAT", raw)),
	}
	for name, data := range tests {
		_, err := Scan(bytes.NewReader(data), noLimit)
		checkErr(t, name, err, ErrCorrupt)
	}
}

// TestPNGDecompressionBomb checks that IDAT data that inflates far beyond the
// declared size is refused as soon as it exceeds it.
func TestPNGDecompressionBomb(t *testing.T) {
	z := zlibBytes(make([]byte, 20<<20)) // ~20 KiB compressed
	data := pngFile(ihdr(16, 16, 8, 0, 0), testimages.PNGChunk("IDAT", z))
	r := &countingReader{r: bytes.NewReader(data)}
	start := time.Now()
	_, err := Scan(r, noLimit)
	checkErr(t, "bomb", err, ErrCorrupt)
	if r.n > 128<<10 {
		t.Errorf("read %d of %d bytes before refusing", r.n, len(data))
	}
	t.Logf("refused after reading %d of %d bytes in %v", r.n, len(data), time.Since(start))
}

// TestPNGInterlaced builds Adam7 images of every size up to 10×10, where
// some passes are empty, and checks the expected data size exactly.
func TestPNGInterlaced(t *testing.T) {
	for w := 1; w <= 10; w++ {
		for h := 1; h <= 10; h++ {
			var raw []byte
			for _, p := range adam7 {
				cols := (w - int(p[0]) + int(p[2]) - 1) / int(p[2])
				rows := (h - int(p[1]) + int(p[3]) - 1) / int(p[3])
				if cols <= 0 || rows <= 0 {
					continue
				}
				for range rows {
					raw = append(raw, 0) // filter type None
					for x := range cols * 3 {
						raw = append(raw, byte(x*31))
					}
				}
			}
			hdr := ihdr(uint32(w), uint32(h), 8, 2, 1)
			data := pngFile(hdr, idatChunks(zlibBytes(raw))...)
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil || img.Bounds() != image.Rect(0, 0, w, h) {
				t.Fatalf("%dx%d: test PNG is not valid: %v", w, h, err)
			}
			if _, err := Scan(bytes.NewReader(data), noLimit); err != nil {
				t.Errorf("%dx%d interlaced: %v", w, h, err)
			}
			long := pngFile(hdr, idatChunks(zlibBytes(append(raw, 0)))...)
			_, err = Scan(bytes.NewReader(long), noLimit)
			checkErr(t, "interlaced with an extra byte", err, ErrCorrupt)
			short := pngFile(hdr, idatChunks(zlibBytes(raw[:len(raw)-1]))...)
			_, err = Scan(bytes.NewReader(short), noLimit)
			checkErr(t, "interlaced with a byte missing", err, ErrCorrupt)
		}
	}
}

func TestPNGChunkRules(t *testing.T) {
	gray := ihdr(3, 2, 8, 0, 0)
	pal := ihdr(3, 2, 8, 3, 0)
	idat := idatChunks(zlibBytes(pngRaw3x2()))
	plte := testimages.PNGChunk("PLTE", make([]byte, 3*7))
	text := testimages.PNGChunk("tEXt", []byte("Comment\x00hi"))
	join := func(parts ...[][]byte) [][]byte {
		var out [][]byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	one := func(c []byte) [][]byte { return [][]byte{c} }
	badCRC := bytes.Clone(text)
	badCRC[len(badCRC)-1] ^= 1
	trailingGarbage := append(append([][]byte{}, idat...), testimages.PNGChunk("IDAT", []byte("junk")))

	valid := map[string][]byte{
		"text before and after":      pngFile(gray, join(one(text), idat, one(text))...),
		"paletted":                   pngFile(pal, join(one(plte), idat)...),
		"paletted tRNS":              pngFile(pal, join(one(plte), one(testimages.PNGChunk("tRNS", []byte{0, 1})), idat)...),
		"grey tRNS":                  pngFile(gray, join(one(testimages.PNGChunk("tRNS", []byte{0, 1})), idat)...),
		"unknown ancillary chunk":    pngFile(gray, join(one(testimages.PNGChunk("vpAg", []byte{1})), idat)...),
		"IDAT after the zlib stream": pngFile(gray, trailingGarbage...),
	}
	for name, data := range valid {
		if _, err := Scan(bytes.NewReader(data), noLimit); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: png.Decode: %v", name, err)
		}
	}

	noIEND := pngFile(gray, idat...)
	noIEND = noIEND[:len(noIEND)-12]
	corrupt := map[string][]byte{
		"IDAT not consecutive":     pngFile(gray, testimages.PNGChunk("IDAT", zlibBytes(pngRaw3x2())), text, testimages.PNGChunk("IDAT", nil)),
		"missing IEND":             noIEND,
		"missing PLTE":             pngFile(pal, idat...),
		"PLTE in greyscale":        pngFile(gray, join(one(plte), idat)...),
		"PLTE after IDAT":          pngFile(ihdr(3, 2, 8, 2, 0), join(idatChunks(zlibBytes(make([]byte, 2*10))), one(plte))...),
		"PLTE too long":            pngFile(ihdr(3, 2, 1, 3, 0), join(one(plte), idat)...),
		"PLTE length":              pngFile(pal, join(one(testimages.PNGChunk("PLTE", make([]byte, 4))), idat)...),
		"two PLTE":                 pngFile(pal, join(one(plte), one(plte), idat)...),
		"tRNS before PLTE":         pngFile(pal, join(one(testimages.PNGChunk("tRNS", []byte{0})), one(plte), idat)...),
		"tRNS length":              pngFile(gray, join(one(testimages.PNGChunk("tRNS", []byte{0})), idat)...),
		"unknown critical chunk":   pngFile(gray, join(one(testimages.PNGChunk("ABCD", nil)), idat)...),
		"bad chunk type":           pngFile(gray, join(one(testimages.PNGChunk("ab1d", nil)), idat)...),
		"ancillary chunk CRC":      pngFile(gray, join(one(badCRC), idat)...),
		"IHDR twice":               pngFile(gray, join(one(gray), idat)...),
		"IEND with data":           append(pngFile(gray, idat...)[:len(pngFile(gray, idat...))-12], testimages.PNGChunk("IEND", []byte{0})...),
		"first chunk not IHDR":     append(append([]byte{}, imageformat.PNGSignature...), text...),
		"chunk length over 2^31-1": pngFile(gray, append([]byte{0x80, 0, 0, 0}, "tEXt"...)),
	}
	for name, data := range corrupt {
		_, err := Scan(bytes.NewReader(data), noLimit)
		checkErr(t, name, err, ErrCorrupt)
	}
}
