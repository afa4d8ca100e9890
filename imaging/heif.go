package imaging

/*
#cgo pkg-config: vips libheif
#include "vips.h"
*/
import "C"

import (
	"strings"
)

// HEIF originals (HEIC, HEIF, AVIF) are decoded by libvips' heifload through libheif. Two
// things differ from the other formats:
//
//   - Orientation: libheif applies the file's irot and imir properties while decoding, so
//     the decoded image is already upright and its header gives the upright size. An EXIF
//     Orientation in the file's Exif item describes the same turn (a phone writes both) and
//     must not be applied a second time: readHeader ignores it for HEIF.
//   - Colour: the colr box is either an ICC profile, which heifload attaches like any
//     loader, or an nclx description (code points of ITU-T H.273), which libvips 8.14
//     ignores ("ignoring nclx profile") and so takes the pixels for sRGB. Display P3, which
//     phones write, would come out dull. readHEIFColour reads the nclx box with libheif
//     and base converts Display P3 to sRGB through libvips' built-in P3 profile.
//     Other nclx primaries (BT.709, unspecified) are sRGB's or taken as such; wide-gamut
//     HDR ones (BT.2020 with PQ or HLG transfer) are not converted.

// H.273 code points of the nclx descriptions that matter here.
const (
	nclxPrimariesP3 = 12 // SMPTE EG 432-1: P3 primaries, D65 white (Display P3)
	nclxTransferPQ  = 16 // SMPTE ST 2084, HDR
	nclxTransferHLG = 18 // ARIB STD-B67, HDR
)

func isHEIF(loader string) bool { return strings.HasPrefix(loader, "heifload") }

// readHEIFColour sets h.displayP3 when src, a HEIF without an ICC profile, declares
// Display P3 in an nclx colr box.
func (h *header) readHEIFColour(src source, hasICC bool) {
	if !isHEIF(h.loader) || hasICC {
		return
	}
	buf, path, free := src.cArgs()
	defer free()
	var primaries, transfer C.int
	if C.vitrine_heif_nclx(buf, C.size_t(len(src.buf)), path, &primaries, &transfer) != 0 {
		return
	}
	h.displayP3 = primaries == nclxPrimariesP3 && transfer != nclxTransferPQ && transfer != nclxTransferHLG
}

// p3ToSRGB converts in, Display P3 without a profile, to 8-bit sRGB.
func (s *scope) p3ToSRGB(in *C.VipsImage) (*C.VipsImage, error) {
	var out *C.VipsImage
	if C.vitrine_p3_to_srgb(in, &out) != 0 {
		return nil, vipsFailed("converting Display P3 to sRGB")
	}
	return s.own(out), nil
}
