package imageinfo

import (
	"bytes"
	"encoding/binary"
	"image/gif"
	"testing"
)

// gifHeader returns a GIF89a header for a w×h screen with a two-colour
// global colour table.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff)
}

// gifFrame returns an image descriptor for a w×h frame at (x, y) with the
// given LZW code size and data sub-blocks.
func gifFrame(x, y, w, h uint16, litWidth byte, data ...byte) []byte {
	b := []byte{0x2c}
	for _, v := range []uint16{x, y, w, h} {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return append(append(b, 0, litWidth), data...)
}

// onePixel is the LZW data of a one-pixel frame: clear, index 0, end.
var onePixel = []byte{0x02, 0x44, 0x01, 0x00}

// graphicControl is a graphic control extension.
var graphicControl = []byte{0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00}

func gifFile(parts ...[]byte) []byte {
	return append(bytes.Join(parts, nil), 0x3b)
}

func TestGIFStructure(t *testing.T) {
	valid := gifFile(gifHeader(1, 1), graphicControl, gifFrame(0, 0, 1, 1, 2, onePixel...))
	if _, err := gif.DecodeAll(bytes.NewReader(valid)); err != nil {
		t.Fatalf("test GIF is not valid: %v", err)
	}
	if info, err := Scan(bytes.NewReader(valid), noLimit); err != nil || info.Width != 1 || info.Height != 1 {
		t.Fatalf("valid GIF: %+v, %v", info, err)
	}

	corrupt := map[string][]byte{
		"no frames":          gifFile(gifHeader(1, 1), graphicControl),
		"LZW code size 1":    gifFile(gifHeader(1, 1), gifFrame(0, 0, 1, 1, 1, onePixel...)),
		"LZW code size 9":    gifFile(gifHeader(1, 1), gifFrame(0, 0, 1, 1, 9, onePixel...)),
		"frame without data": gifFile(gifHeader(1, 1), gifFrame(0, 0, 1, 1, 2, 0)),
		"unknown block":      gifFile(gifHeader(1, 1), []byte{0x99}, gifFrame(0, 0, 1, 1, 2, onePixel...)),
		"zero screen":        gifFile(gifHeader(0, 1), gifFrame(0, 0, 1, 1, 2, onePixel...)),
		"no trailer":         valid[:len(valid)-1],
		"unterminated data":  gifFile(gifHeader(1, 1), gifFrame(0, 0, 1, 1, 2, 0x02, 0x44, 0x01)),
	}
	for name, data := range corrupt {
		_, err := Scan(bytes.NewReader(data), noLimit)
		checkErr(t, name, err, ErrCorrupt)
	}
}

func TestGIFFramesBeyondScreen(t *testing.T) {
	// A 10×10 screen with a frame at (20000, 0) of 100×10.
	data := gifFile(gifHeader(10, 10), gifFrame(20000, 0, 100, 10, 2, onePixel...))
	info, err := Scan(bytes.NewReader(data), 20100*10)
	if err != nil || info.Width != 10 || info.Height != 10 {
		t.Errorf("frame beyond the screen within the limit: %+v, %v", info, err)
	}
	_, err = Scan(bytes.NewReader(data), 20100*10-1)
	checkErr(t, "frame beyond the screen over the limit", err, ErrTooManyPixels)
}

func TestGIFTooManyFrames(t *testing.T) {
	frame := append(bytes.Clone(graphicControl), gifFrame(0, 0, 1, 1, 2, onePixel...)...)
	frames := func(n int) []byte {
		return gifFile(gifHeader(1, 1), bytes.Repeat(frame, n))
	}
	if _, err := Scan(bytes.NewReader(frames(maxFrames)), noLimit); err != nil {
		t.Errorf("%d frames: %v", maxFrames, err)
	}
	_, err := Scan(bytes.NewReader(frames(maxFrames+1)), noLimit)
	checkErr(t, "too many frames", err, ErrTooManyPixels)
}
