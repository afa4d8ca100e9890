package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"slices"
)

// strip drops all metadata: EXIF (and so GPS), XMP, IPTC, ICC profile, comments.
func (s *scope) strip(in *C.VipsImage) (*C.VipsImage, error) {
	var out *C.VipsImage
	if C.vitrine_strip(in, &out) != 0 {
		return nil, vipsFailed("removing metadata")
	}
	return s.own(out), nil
}

// WebP chunks that carry metadata, and their VP8X feature flags.
var webpMetadataChunks = map[string]byte{"ICCP": 0x20, "EXIF": 0x08, "XMP ": 0x04}

// stripWebP removes the ICCP, EXIF and XMP chunks from a WebP file and clears their VP8X
// flags. It is needed because libvips 8.14's webpsave writes an EXIF chunk it builds from
// the image header (resolution, orientation) even when asked to strip metadata. A VP8X
// chunk left with no features and a single image chunk is dropped too, giving the simple
// format. Data that isn't a well-formed WebP is returned unchanged with an error.
func stripWebP(data []byte) ([]byte, error) {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return data, errors.New("imaging: not a WebP file")
	}
	type chunk struct {
		fourCC string
		raw    []byte // header, payload and padding
	}
	var chunks []chunk
	for rest := data[12:]; len(rest) > 0; {
		if len(rest) < 8 {
			return data, errors.New("imaging: truncated WebP chunk header")
		}
		size := int(binary.LittleEndian.Uint32(rest[4:8]))
		end := 8 + size + size&1
		if size < 0 || end > len(rest) {
			return data, errors.New("imaging: truncated WebP chunk")
		}
		chunks = append(chunks, chunk{string(rest[0:4]), rest[:end]})
		rest = rest[end:]
	}

	var kept []chunk
	var clear byte
	for _, c := range chunks {
		if flag, ok := webpMetadataChunks[c.fourCC]; ok {
			clear |= flag
			continue
		}
		kept = append(kept, c)
	}
	if clear == 0 {
		return data, nil
	}
	if len(kept) > 0 && kept[0].fourCC == "VP8X" && len(kept[0].raw) >= 9 {
		vp8x := slices.Clone(kept[0].raw)
		vp8x[8] &^= clear
		kept[0].raw = vp8x
		if vp8x[8] == 0 && len(kept) == 2 {
			kept = kept[1:]
		}
	}

	n := 4
	for _, c := range kept {
		n += len(c.raw)
	}
	out := make([]byte, 0, 8+n)
	out = append(out, "RIFF"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(n))
	out = append(out, "WEBP"...)
	for _, c := range kept {
		out = append(out, c.raw...)
	}
	return out, nil
}
