package httpapi_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// pngChunk is one chunk of a PNG file.
type pngChunk struct {
	typ  string
	data []byte
	crc  uint32
}

func parsePNG(t *testing.T, b []byte) []pngChunk {
	t.Helper()
	var out []pngChunk
	for p := 8; p+12 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[p:]))
		typ := string(b[p+4 : p+8])
		data := b[p+8 : p+8+n]
		out = append(out, pngChunk{typ, append([]byte(nil), data...), binary.BigEndian.Uint32(b[p+8+n:])})
		p += 12 + n
	}
	return out
}

// writePNG writes chunks after sig; a chunk whose crc is 0 gets its correct CRC.
func writePNG(sig []byte, chunks []pngChunk) []byte {
	var buf bytes.Buffer
	buf.Write(sig)
	for _, c := range chunks {
		binary.Write(&buf, binary.BigEndian, uint32(len(c.data)))
		buf.WriteString(c.typ)
		buf.Write(c.data)
		crc := c.crc
		if crc == 0 {
			crc = crc32.ChecksumIEEE(append([]byte(c.typ), c.data...))
		}
		binary.Write(&buf, binary.BigEndian, crc)
	}
	return buf.Bytes()
}

// corruptPNGSuite rebuilds the corrupt files of Willem van Schaik's PNG suite (the x*.png
// files, which Go's copy of the suite leaves out) from its valid files, one defect each, named
// after the file it stands for.
func corruptPNGSuite(t *testing.T) map[string][]byte {
	t.Helper()
	gray := readFile(t, goroot("png", "testdata", "pngsuite", "basn0g08.png"))
	rgb := readFile(t, goroot("png", "testdata", "pngsuite", "basn2c08.png"))
	sig := gray[:8]
	withSig := func(i int, v byte) []byte {
		b := append([]byte(nil), gray...)
		b[i] = v
		return b
	}
	// rewrite returns src with fn applied to its chunks, CRCs recomputed unless fn set one.
	rewrite := func(src []byte, fn func([]pngChunk) []pngChunk) []byte {
		cs := parsePNG(t, src)
		for i := range cs {
			cs[i].crc = 0
		}
		return writePNG(sig, fn(cs))
	}
	ihdr := func(offset int, v byte) func([]pngChunk) []pngChunk {
		return func(cs []pngChunk) []pngChunk { cs[0].data[offset] = v; return cs }
	}
	return map[string][]byte{
		"xs1n0g01 (signature byte 1)": withSig(0, 0x88),
		"xs2n0g01 (signature byte 2)": withSig(1, 'Q'),
		"xs4n0g01 (signature byte 4)": withSig(3, 'H'),
		"xs7n0g01 (signature byte 7)": withSig(6, 0x1b),
		"xcrn0g04 (CR added)":         append([]byte("\x89PNG\r\r\n\x1a\n"), gray[8:]...),
		"xlfn0g04 (LF added)":         append([]byte("\x89PNG\r\n\n\x1a\n"), gray[8:]...),
		"xhdn0g08 (IHDR checksum)": rewrite(gray, func(cs []pngChunk) []pngChunk {
			cs[0].crc = crc32.ChecksumIEEE(append([]byte("IHDR"), cs[0].data...)) ^ 1
			return cs
		}),
		"xc1n0g08 (colour type 1)": rewrite(gray, ihdr(9, 1)),
		"xc9n2c08 (colour type 9)": rewrite(rgb, ihdr(9, 9)),
		"xd0n2c08 (bit depth 0)":   rewrite(rgb, ihdr(8, 0)),
		"xd3n2c08 (bit depth 3)":   rewrite(rgb, ihdr(8, 3)),
		"xd9n2c08 (bit depth 99)":  rewrite(rgb, ihdr(8, 99)),
		"xdtn0g01 (no IDAT)": rewrite(gray, func(cs []pngChunk) []pngChunk {
			var out []pngChunk
			for _, c := range cs {
				if c.typ != "IDAT" {
					out = append(out, c)
				}
			}
			return out
		}),
		"xcsn0g01 (IDAT checksum)": rewrite(gray, func(cs []pngChunk) []pngChunk {
			for i, c := range cs {
				if c.typ == "IDAT" {
					cs[i].crc = crc32.ChecksumIEEE(append([]byte("IDAT"), c.data...)) ^ 0x10
				}
			}
			return cs
		}),
	}
}
