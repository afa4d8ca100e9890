package testimages

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The Padded functions return a valid image of exactly size bytes: the image given, with
// metadata that the stripper drops (or, for ExtendedWebP, an ICC profile chunk that it keeps)
// filling it up. They make the largest files an upload accepts without large pixel data.
// Each fails if size is too small to hold the image and its padding.

// PaddedJPEG inserts COM segments before the start of scan (SOS) of a JPEG, after its frame
// header, where its dimensions are.
func PaddedJPEG(jpeg []byte, size int) ([]byte, error) {
	pad := size - len(jpeg)
	if pad < 4 || !bytes.HasPrefix(jpeg, []byte{0xff, 0xd8}) {
		return nil, errors.New("testimages: not a JPEG, or no room to pad it")
	}
	sos := 2
	for sos+4 <= len(jpeg) && jpeg[sos] == 0xff && jpeg[sos+1] != 0xda {
		sos += 2 + int(binary.BigEndian.Uint16(jpeg[sos+2:]))
	}
	if sos+4 > len(jpeg) || jpeg[sos] != 0xff {
		return nil, errors.New("testimages: no start of scan in the JPEG")
	}
	out := append(make([]byte, 0, size), jpeg[:sos]...)
	for pad > 0 {
		n := min(pad, 0xffff+2) // a segment: marker, length, data
		if rest := pad - n; rest > 0 && rest < 4 {
			n -= 4 // leave room for a last segment
		}
		out = append(out, 0xff, 0xfe, byte((n-2)>>8), byte(n-2))
		out = append(out, bytes.Repeat([]byte{'v'}, n-4)...)
		pad -= n
	}
	return append(out, jpeg[sos:]...), nil
}

// PaddedPNG inserts a tEXt chunk after the IHDR chunk of a PNG.
func PaddedPNG(png []byte, size int) ([]byte, error) {
	const ihdrEnd = 8 + 25
	data := size - len(png) - 12
	if data < 2 || len(png) < ihdrEnd || string(png[12:16]) != "IHDR" {
		return nil, errors.New("testimages: not a PNG, or no room to pad it")
	}
	text := append([]byte("Comment\x00"), bytes.Repeat([]byte{'v'}, data-8)...)
	out := append(make([]byte, 0, size), png[:ihdrEnd]...)
	out = append(out, PNGChunk("tEXt", text)...)
	return append(out, png[ihdrEnd:]...), nil
}

// PaddedGIF inserts a comment extension after the header and global colour table of a GIF.
func PaddedGIF(gif []byte, size int) ([]byte, error) {
	if len(gif) < 13 || !bytes.HasPrefix(gif, []byte("GIF8")) {
		return nil, errors.New("testimages: not a GIF")
	}
	head := 13
	if gif[10]&0x80 != 0 {
		head += 3 << (gif[10]&7 + 1)
	}
	pad := size - len(gif) - 3 // introducer, label and terminator
	if pad < 2 {
		return nil, errors.New("testimages: no room to pad the GIF")
	}
	out := append(make([]byte, 0, size), gif[:head]...)
	out = append(out, 0x21, 0xfe)
	for pad > 0 {
		n := min(pad-1, 255) // a sub-block: its length, then its data
		if rest := pad - 1 - n; rest == 1 {
			n-- // a last sub-block needs two bytes at least
		}
		out = append(out, byte(n))
		out = append(out, bytes.Repeat([]byte{'v'}, n)...)
		pad -= n + 1
	}
	out = append(out, 0)
	return append(out, gif[head:]...), nil
}

// PaddedWebP appends bytes after the end of a WebP's RIFF container, as a polyglot file does.
func PaddedWebP(webp []byte, size int) ([]byte, error) {
	if size < len(webp) || !bytes.HasPrefix(webp, []byte("RIFF")) {
		return nil, errors.New("testimages: not a WebP, or no room to pad it")
	}
	return append(bytes.Clone(webp), bytes.Repeat([]byte{'v'}, size-len(webp))...), nil
}

// ExtendedWebP makes an extended (VP8X) WebP of size bytes from a simple lossy WebP of
// width×height pixels: VP8X, an ICC profile chunk filling the size, and the image chunk. The
// stripper keeps the profile, so it must hold the whole file back until its end.
func ExtendedWebP(webp []byte, width, height, size int) ([]byte, error) {
	return ExtendedWebPWithXMP(webp, width, height, size, 0)
}

// ExtendedWebPWithXMP is ExtendedWebP with an XMP chunk of xmp bytes (which the stripper
// drops) between the profile and the image chunk; the profile takes the rest of the size.
func ExtendedWebPWithXMP(webp []byte, width, height, size, xmp int) ([]byte, error) {
	if len(webp) < 20 || string(webp[12:16]) != "VP8 " {
		return nil, errors.New("testimages: not a simple lossy WebP")
	}
	image := webp[12 : 8+int(binary.LittleEndian.Uint32(webp[4:]))]
	flags := byte(0x20) // ICC profile
	if xmp > 0 {
		flags |= 0x04
	}
	vp8x := []byte{'V', 'P', '8', 'X', 0x0a, 0, 0, 0, flags, 0, 0, 0}
	vp8x = append(vp8x, byte(width-1), byte((width-1)>>8), byte((width-1)>>16))
	vp8x = append(vp8x, byte(height-1), byte((height-1)>>8), byte((height-1)>>16))
	xmpChunk := 0
	if xmp > 0 {
		xmpChunk = 8 + xmp
	}
	icc := size - 12 - len(vp8x) - 8 - xmpChunk - len(image)
	if icc < 2 || icc%2 == 1 || xmp%2 == 1 {
		return nil, fmt.Errorf("testimages: %d bytes cannot hold an extended WebP of %d bytes of image and %d of XMP", size, len(image), xmp)
	}
	out := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(size-8))
	out = append(out, "WEBP"...)
	out = append(out, vp8x...)
	out = binary.LittleEndian.AppendUint32(append(out, "ICCP"...), uint32(icc))
	out = append(out, bytes.Repeat([]byte{'v'}, icc)...)
	if xmp > 0 {
		out = binary.LittleEndian.AppendUint32(append(out, "XMP "...), uint32(xmp))
		out = append(out, bytes.Repeat([]byte{'x'}, xmp)...)
	}
	return append(out, image...), nil
}
