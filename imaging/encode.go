package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Encoder settings; the package documentation explains the choice.
const (
	webpQuality = 80
	webpEffort  = 2
	jpegQuality = 82
	avifQuality = 50
	avifEffort  = 1 // libheif's aom speed = 9 - effort
)

// encode encodes in, an 8-bit sRGB image without metadata, as f. JPEG has no alpha, so a
// transparent image is flattened onto white first. Every encoder is also told to strip
// metadata, so nothing would leak even if a step upstream left some, and WebP output loses
// the EXIF chunk libvips 8.14 writes regardless (see stripWebP).
func (t tuning) encode(s *scope, in *C.VipsImage, f Format) ([]byte, error) {
	var (
		buf unsafe.Pointer
		n   C.size_t
		rc  C.int
	)
	switch f {
	case WebP:
		rc = C.vitrine_webpsave(in, webpQuality, C.int(t.webpEffort), &buf, &n)
	case JPEG:
		var flat *C.VipsImage
		if C.vitrine_flatten_white(in, &flat) != 0 {
			return nil, vipsFailed("flattening transparency for JPEG")
		}
		s.own(flat)
		rc = C.vitrine_jpegsave(flat, jpegQuality, &buf, &n)
	case AVIF:
		rc = C.vitrine_avifsave(in, avifQuality, avifEffort, &buf, &n)
	default:
		return nil, fmt.Errorf("imaging: unknown format %q", f)
	}
	if rc != 0 {
		return nil, vipsFailed("encoding " + string(f))
	}
	data := C.GoBytes(buf, C.int(n))
	C.g_free(C.gpointer(buf))
	if f == WebP {
		return stripWebP(data)
	}
	return data, nil
}
