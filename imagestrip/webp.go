package imagestrip

import (
	"bytes"
	"encoding/binary"
)

// webpState is what the WebP stripper is waiting for.
type webpState int

const (
	webpWantRIFF   webpState = iota // "RIFF", size, "WEBP"
	webpWantFirst                   // the first chunk's header
	webpSimpleDone                  // the end of a simple file's image chunk
	webpWantVP8X                    // the VP8X chunk's data
	webpWantChunk                   // the header of a later chunk of an extended file
	webpChunkDone                   // the end of a chunk that was copied or skipped
	webpWantEXIF                    // the start of the first EXIF chunk's data
)

// VP8X flags that change with what is dropped.
const (
	vp8xEXIF = 0x08
	vp8xXMP  = 0x04
)

// webpStripper rewrites a WebP. A simple file (VP8 or VP8L) streams: its RIFF size is known
// from its image chunk, and what follows that chunk, which decoders ignore, is dropped. An
// extended file (VP8X) is held back: its chunks are kept or dropped as listed by webpKept,
// the kept ones go to body (in memory up to memoryMax bytes, then in a temporary file), and
// the file is written once the end of its RIFF container is reached, with the size and the
// VP8X flags of what was kept.
type webpStripper struct {
	in      *input
	state   webpState
	end     int64 // the input offset of the end of the RIFF container
	vp8x    [10]byte
	body    spill  // the kept chunks after VP8X, of an extended file
	exif    []byte // a minimal EXIF chunk holding the orientation, if any
	sawEXIF bool
	left    int64 // bytes of the EXIF chunk after the prefix gathered, with padding
}

// webpKept reports whether a chunk of an extended file is kept.
func webpKept(fourcc string) bool {
	switch fourcc {
	case "ICCP", "ANIM", "ANMF", "ALPH", "VP8 ", "VP8L":
		return true
	}
	return false
}

func (w *webpStripper) start() {
	w.state = webpWantRIFF
	w.in.need(12)
}

func (w *webpStripper) scan([]byte) (int, error) { return 0, errInternal }

func (w *webpStripper) step(b []byte) error {
	switch w.state {
	case webpWantRIFF:
		size := binary.LittleEndian.Uint32(b[4:8])
		if size < 4+8 {
			return corrupt("webp", "RIFF size too small")
		}
		w.end = 8 + int64(size)
		w.state = webpWantFirst
		w.in.need(8)
	case webpWantFirst:
		return w.first(b)
	case webpSimpleDone:
		w.in.discard()
	case webpWantVP8X:
		copy(w.vp8x[:], b)
		w.in.out = &w.body
		return w.next()
	case webpWantChunk:
		return w.chunk(b)
	case webpChunkDone:
		return w.next()
	case webpWantEXIF:
		tiff := bytes.TrimPrefix(b, []byte(exifHeader))
		if o := orientation(tiff); keepsOrientation(o) {
			w.exif = riffChunk("EXIF", orientationTIFF(o))
		}
		w.state = webpChunkDone
		w.in.skip(w.left)
	}
	return nil
}

// first handles the header b of the first chunk, which decides the kind of file.
func (w *webpStripper) first(b []byte) error {
	fourcc, size := string(b[:4]), int64(binary.LittleEndian.Uint32(b[4:]))
	padded := size + size&1
	if w.in.off+padded > w.end {
		return corrupt("webp", "chunk extends beyond its container")
	}
	switch fourcc {
	case "VP8 ", "VP8L":
		if err := w.writeHeader(8 + padded); err != nil {
			return err
		}
		if err := w.in.write(b); err != nil {
			return err
		}
		w.state = webpSimpleDone
		w.in.copy(padded)
	case "VP8X":
		if size != 10 {
			return corrupt("webp", "bad VP8X length")
		}
		w.state = webpWantVP8X
		w.in.need(10)
	default:
		return corrupt("webp", "first chunk is not VP8, VP8L or VP8X")
	}
	return nil
}

// next asks for the next chunk of an extended file, or writes the file at the end of its
// container.
func (w *webpStripper) next() error {
	switch left := w.end - w.in.off; {
	case left == 0:
		return w.finish()
	case left < 8:
		return corrupt("webp", "chunk extends beyond its container")
	}
	w.state = webpWantChunk
	w.in.need(8)
	return nil
}

// chunk handles the header b of a chunk of an extended file after VP8X.
func (w *webpStripper) chunk(b []byte) error {
	fourcc, size := string(b[:4]), int64(binary.LittleEndian.Uint32(b[4:]))
	padded := size + size&1
	if w.in.off+padded > w.end {
		return corrupt("webp", "chunk extends beyond its container")
	}
	switch {
	case webpKept(fourcc):
		if err := w.in.write(b); err != nil {
			return err
		}
		w.state = webpChunkDone
		w.in.copy(padded)
	case fourcc == "EXIF" && !w.sawEXIF:
		w.sawEXIF = true
		n := min(size, maxNeed)
		w.state, w.left = webpWantEXIF, padded-n
		w.in.need(int(n))
	default:
		w.state = webpChunkDone
		w.in.skip(padded)
	}
	return nil
}

// finish writes the extended file: the RIFF header, VP8X with its flags corrected, the kept
// chunks and the orientation.
func (w *webpStripper) finish() error {
	w.in.out = w.in.dst
	vp8x := w.vp8x
	vp8x[0] &^= vp8xEXIF | vp8xXMP
	if w.exif != nil {
		vp8x[0] |= vp8xEXIF
	}
	chunk := riffChunk("VP8X", vp8x[:])
	if err := w.writeHeader(int64(len(chunk)) + w.body.n + int64(len(w.exif))); err != nil {
		return err
	}
	if err := w.in.write(chunk); err != nil {
		return err
	}
	if err := w.body.writeTo(w.in.dst, make([]byte, 32<<10)); err != nil {
		return err
	}
	if err := w.in.write(w.exif); err != nil {
		return err
	}
	w.in.discard()
	return w.body.release()
}

// writeHeader writes the RIFF header of a file whose chunks take n bytes.
func (w *webpStripper) writeHeader(n int64) error {
	if 4+n > 1<<32-1 {
		return corrupt("webp", "file too large")
	}
	h := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+n))
	return w.in.write(append(h, "WEBP"...))
}

// riffChunk returns a chunk with its header and padding.
func riffChunk(fourcc string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint32([]byte(fourcc), uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}
