package imageinfo

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"
)

// WebP files made with libwebp's tools (cwebp 13×7 lossy, lossless and lossy
// with alpha; gif2webp 9×5 with three frames) and checked with dwebp and
// webpinfo. Go's standard library has no WebP decoder and GOROOT no WebP
// files, so they are kept here as hex.
var webpFiles = []struct {
	name string
	hex  string
	w, h int
}{
	{"lossy.webp", "524946465800000057454250565038204c0000003002009d012a0d00070002c04c25b00274ba0003088a270ce60000fef5ddc7046de4ffdd14b915856afadf0e18b17f74586485af87f270e897e8aeddd663ddd684997956620afa6367bbd400", 13, 7},
	{"lossless.webp", "524946463e000000574542505650384c320000002f0c800100993244f43f36e52f7ef43fa0a06d1bc664ca9fe52e819950d4b6111bbb95f74d54171380483980f207ae42020f", 13, 7},
	{"lossy-alpha.webp", "524946469600000057454250565038580a000000100000000c0000060000414c5048240000000167202448fe1fa6dadc101199854248562881f763892596586209318288fe47aa670f9f565038204c0000003002009d012a0d00070002c04c25b00274ba0003088a270ce60000fef5ddc7046de4ffdd14b915856afadf0e18b17f74586485af87f270e897e8aeddd663ddd684997956620afa6367bbd400", 13, 7},
	{"animated.webp", "52494646fc00000057454250565038580a00000002000000080000040000414e494d06000000ffffffff0000414e4d4640000000000000000000080000040000640000025650384c270000002f080001001f30fff32f2028f83fbaf90f0a2e60206019fe182aae9c123246f43f40c96fd71a0400414e4d4640000000000000000000080000040000640000005650384c270000002f080001001f30fff32f2028f83fbaf90f0a2e60206019fe18aba89c123246f43fe0b76b9d081e00414e4d4640000000000000000000080000040000640000005650384c270000002f080001001f30fff32f2028f83fbaf90f0a2e60206019fe182a2aa7c43246f43fe036b74a1e0e00", 9, 5},
}

func webpSamples(t testing.TB) []sample {
	t.Helper()
	var out []sample
	for _, f := range webpFiles {
		b, err := hex.DecodeString(f.hex)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sample{f.name, b, "image/webp", f.w, f.h})
	}
	return out
}

// webpSample returns a copy of the named WebP sample.
func webpSample(t *testing.T, name string) []byte {
	t.Helper()
	for _, s := range webpSamples(t) {
		if s.name == name {
			return bytes.Clone(s.data)
		}
	}
	t.Fatalf("no WebP sample %s", name)
	return nil
}

// riffChunk encodes a RIFF chunk with its padding byte.
func riffChunk(fourcc string, payload []byte) []byte {
	b := append([]byte(fourcc), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(payload)))
	b = append(b, payload...)
	if len(payload)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// riffFile wraps chunks in a RIFF WEBP header with the right size.
func riffFile(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	return append(b, body...)
}

// vp8x returns a VP8X payload for a canvas of w×h.
func vp8x(flags byte, w, h int) []byte {
	b := make([]byte, 10)
	b[0] = flags
	putLE24(b[4:], uint32(w-1))
	putLE24(b[7:], uint32(h-1))
	return b
}

func putLE24(b []byte, v uint32) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }

func TestWebPCorrupt(t *testing.T) {
	lossy := webpSample(t, "lossy.webp")
	vp8Chunk := lossy[12:] // the whole VP8 chunk of the lossy sample
	lossless := webpSample(t, "lossless.webp")
	vp8lChunk := lossless[12:]

	// Check that the helpers rebuild the samples exactly.
	if got := riffFile(vp8Chunk); !bytes.Equal(got, lossy) {
		t.Fatalf("riffFile does not rebuild lossy.webp")
	}

	patch := func(b []byte, off int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[off:], v)
		return b
	}
	withSize := func(b []byte, size uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[4:], size)
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"RIFF size beyond the data", withSize(lossy, uint32(len(lossy)-8+10))},
		{"RIFF size too small for the chunk", withSize(lossy, uint32(len(lossy)-8-2))},
		{"RIFF size tiny", withSize(lossy, 4)},
		{"VP8 start code", patch(lossy, 20+3, 0x9d, 0x01, 0x2b)},
		{"VP8 not a key frame", patch(lossy, 20, lossy[20]|1)},
		{"VP8 zero width", patch(lossy, 20+6, 0, 0)},
		{"VP8 partition beyond chunk", patch(lossy, 20, 0xf0, 0xff, 0xff)},
		{"VP8L signature", patch(lossless, 20, 0x2e)},
		{"VP8L version", patch(lossless, 24, lossless[24]|0x20)},
		{"first chunk unknown", riffFile(riffChunk("ICCP", make([]byte, 4)), vp8Chunk)},
		{"VP8X without image", riffFile(riffChunk("VP8X", vp8x(0, 13, 7)))},
		{"VP8X canvas differs", riffFile(riffChunk("VP8X", vp8x(0, 14, 7)), vp8Chunk)},
		{"VP8X two images", riffFile(riffChunk("VP8X", vp8x(0, 13, 7)), vp8Chunk, vp8lChunk)},
		{"VP8X bad length", riffFile(riffChunk("VP8X", make([]byte, 12)), vp8Chunk)},
		{"animation without frames", riffFile(riffChunk("VP8X", vp8x(2, 13, 7)), riffChunk("ANIM", make([]byte, 6)))},
		{"ANMF without ANIM", riffFile(riffChunk("VP8X", vp8x(2, 13, 7)), riffChunk("ANMF", append(anmf(0, 0, 13, 7), vp8Chunk...)))},
		{"frame outside canvas", riffFile(riffChunk("VP8X", vp8x(2, 13, 7)), riffChunk("ANIM", make([]byte, 6)),
			riffChunk("ANMF", append(anmf(2, 0, 13, 7), vp8Chunk...)))},
		{"frame size differs", riffFile(riffChunk("VP8X", vp8x(2, 13, 7)), riffChunk("ANIM", make([]byte, 6)),
			riffChunk("ANMF", append(anmf(0, 0, 12, 7), vp8Chunk...)))},
		{"image chunk in animation", riffFile(riffChunk("VP8X", vp8x(2, 13, 7)), riffChunk("ANIM", make([]byte, 6)), vp8Chunk)},
		{"chunk beyond RIFF", riffFile(vp8Chunk, []byte("EXIF\xff\x00\x00\x00"))},
		{"stray bytes after last chunk", riffFile(vp8Chunk, []byte("EX"))},
	}
	for _, tt := range tests {
		_, err := Scan(bytes.NewReader(tt.data), noLimit)
		checkErr(t, tt.name, err, ErrCorrupt)
	}
}

// anmf returns an ANMF frame header for a w×h frame at (x, y).
func anmf(x, y, w, h int) []byte {
	b := make([]byte, 16)
	putLE24(b[0:], uint32(x/2))
	putLE24(b[3:], uint32(y/2))
	putLE24(b[6:], uint32(w-1))
	putLE24(b[9:], uint32(h-1))
	return b
}

func TestWebPValidVariants(t *testing.T) {
	vp8Chunk := webpSample(t, "lossy.webp")[12:]
	vp8lChunk := webpSample(t, "lossless.webp")[12:]
	tests := []struct {
		name string
		data []byte
		w, h int
	}{
		{"VP8X with metadata", riffFile(riffChunk("VP8X", vp8x(0x08, 13, 7)), vp8lChunk, riffChunk("EXIF", []byte("odd"))), 13, 7},
		{"simple with trailing chunk", riffFile(vp8Chunk, riffChunk("XYZW", []byte{1, 2, 3})), 13, 7},
		{"animation of lossy and lossless frames", riffFile(riffChunk("VP8X", vp8x(2, 20, 9)), riffChunk("ANIM", make([]byte, 6)),
			riffChunk("ANMF", append(anmf(0, 0, 13, 7), vp8Chunk...)),
			riffChunk("ANMF", append(anmf(6, 2, 13, 7), vp8lChunk...))), 20, 9},
	}
	for _, tt := range tests {
		info, err := Scan(bytes.NewReader(tt.data), noLimit)
		if err != nil || info.Width != tt.w || info.Height != tt.h || info.MediaType != "image/webp" {
			t.Errorf("%s: got %+v, %v; want %dx%d webp", tt.name, info, err, tt.w, tt.h)
		}
	}
}

func TestWebPTooManyPixels(t *testing.T) {
	vp8Chunk := webpSample(t, "lossy.webp")[12:]
	big := riffFile(riffChunk("VP8X", vp8x(0, 16384, 16384)), vp8Chunk)
	r := followedBy(big[:30], 10<<20)
	_, err := Scan(r, 50_000_000)
	checkErr(t, "16384x16384 canvas", err, ErrTooManyPixels)
	if r.n > 1024 {
		t.Errorf("read %d bytes before refusing, want < 1 KiB", r.n)
	}

	frames := [][]byte{riffChunk("VP8X", vp8x(2, 13, 7)), riffChunk("ANIM", make([]byte, 6))}
	for range maxFrames + 1 {
		frames = append(frames, riffChunk("ANMF", append(anmf(0, 0, 13, 7), vp8Chunk...)))
	}
	_, err = Scan(bytes.NewReader(riffFile(frames...)), noLimit)
	checkErr(t, "too many frames", err, ErrTooManyPixels)
	_, err = Scan(bytes.NewReader(riffFile(frames[:maxFrames+2]...)), noLimit)
	if err != nil {
		t.Errorf("%d frames: %v", maxFrames, err)
	}
}
