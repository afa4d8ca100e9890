package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

import (
	"strings"
	"unsafe"
)

// source is an original: bytes in memory or a local file. A buffer must stay pinned
// (runtime.Pinner) while any image loaded from it is alive, since libvips reads it in place.
type source struct {
	buf  []byte
	path string
}

// header is what Process learns about an original before decoding it.
type header struct {
	loader        string // libvips loader, e.g. "jpegload_buffer"
	width, height int    // as stored, before the EXIF orientation is applied
	orientation   int    // EXIF orientation, 1 to 8
	bands         int    // samples per pixel
	sampleBytes   int    // bytes per sample (2 for a 16-bit PNG)
	interlaced    bool   // a progressive JPEG or an interlaced PNG
	lossyWebP     bool   // a simple lossy WebP (see isLossyWebP)
	displayP3     bool   // a HEIF in Display P3 by its nclx box, without a profile (heif.go)
}

// upright returns the original's size once its EXIF orientation is applied: orientations
// 5 to 8 turn it a quarter, swapping width and height.
func (h header) upright() (width, height int) {
	if h.orientation >= 5 && h.orientation <= 8 {
		return h.height, h.width
	}
	return h.width, h.height
}

// cArgs is src as the C functions take it: its bytes (nil for a file) and its path (nil for
// bytes); free releases the path.
func (src source) cArgs() (buf unsafe.Pointer, path *C.char, free func()) {
	free = func() {}
	if src.path != "" {
		path = C.CString(src.path)
		free = func() { C.free(unsafe.Pointer(path)) }
	}
	if len(src.buf) > 0 {
		buf = unsafe.Pointer(&src.buf[0])
	}
	return buf, path, free
}

// open asks libvips to open src, reading only its header; pixels are decoded in one
// top-to-bottom pass when a later step asks for them. jpegShrink and webpScale request
// shrink-on-load (1 and 1.0 for none). The caller unrefs the returned image.
func (src source) open(jpegShrink int, webpScale float64) (*C.VipsImage, error) {
	if len(src.buf) == 0 && src.path == "" {
		return nil, undecodable("opening an empty original")
	}
	buf, path, free := src.cArgs()
	defer free()
	var out *C.VipsImage
	if C.vitrine_load(buf, C.size_t(len(src.buf)), path, C.int(jpegShrink), C.double(webpScale), &out) != 0 {
		return nil, undecodable("reading the header")
	}
	return out, nil
}

// readHeader opens src for its header only.
func (src source) readHeader() (header, error) {
	im, err := src.open(1, 1)
	if err != nil {
		return header{}, err
	}
	defer C.vitrine_unref(im)

	h := header{
		width:       int(C.vips_image_get_width(im)),
		height:      int(C.vips_image_get_height(im)),
		orientation: int(C.vips_image_get_orientation(im)),
	}
	var loader *C.char
	name := C.CString("vips-loader")
	defer C.free(unsafe.Pointer(name))
	if C.vips_image_get_string(im, name, &loader) == 0 {
		h.loader = C.GoString(loader)
	}
	if h.orientation < 1 || h.orientation > 8 || isHEIF(h.loader) {
		// libheif has applied a HEIF's own orientation (irot, imir) already (heif.go).
		h.orientation = 1
	}
	icc := C.CString(C.VIPS_META_ICC_NAME)
	defer C.free(unsafe.Pointer(icc))
	h.readHEIFColour(src, C.vips_image_get_typeof(im, icc) != 0)
	h.readDepth(im)
	if strings.HasPrefix(h.loader, "webpload") {
		h.lossyWebP = isLossyWebP(src.fileStart(16))
	}
	return h, nil
}

// shrinkOnLoad chooses how much the decoder itself should shrink an original whose longer
// stored side is long, when the largest variant needs target pixels on that side: the
// largest JPEG scale (1/2, 1/4, 1/8) or WebP scale whose output is still at least
// target (at least 2×target with t.shrinkMargin).
func (t tuning) shrinkOnLoad(h header, long, target int) (jpegShrink int, webpScale float64) {
	need := target
	if t.shrinkMargin {
		need *= 2
	}
	jpegShrink, webpScale = 1, 1
	switch {
	case strings.HasPrefix(h.loader, "jpegload"):
		for _, s := range []int{8, 4, 2} {
			if (long+s-1)/s >= need { // libjpeg rounds scaled sizes up
				jpegShrink = s
				break
			}
		}
	case strings.HasPrefix(h.loader, "webpload"):
		if need < long {
			webpScale = float64(need) / float64(long)
		}
	}
	return jpegShrink, webpScale
}
