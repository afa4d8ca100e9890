package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

import "fmt"

// fitLongSide returns the size of a width×height image scaled so that its longer side is
// long, rounding the shorter side to the nearest pixel; an image already that small keeps
// its size (variants never upscale).
func fitLongSide(width, height, long int) (int, int) {
	if max(width, height) <= long {
		return width, height
	}
	if width >= height {
		return long, max(1, int(float64(height)*float64(long)/float64(width)+0.5))
	}
	return max(1, int(float64(width)*float64(long)/float64(height)+0.5)), long
}

// resizeTo resizes in to exactly width×height with kernel, or returns in if it is already
// that size.
func (s *scope) resizeTo(in *C.VipsImage, width, height int, kernel C.VipsKernel) (*C.VipsImage, error) {
	w, h := imageSize(in)
	if w == width && h == height {
		return in, nil
	}
	var out *C.VipsImage
	if C.vitrine_resize(in, C.double(float64(width)/float64(w)), C.double(float64(height)/float64(h)), kernel, &out) != 0 {
		return nil, vipsFailed(fmt.Sprintf("resizing %dx%d to %dx%d", w, h, width, height))
	}
	s.own(out)
	if w, h := imageSize(out); w != width || h != height {
		return nil, fmt.Errorf("imaging: resizing to %dx%d gave %dx%d", width, height, w, h)
	}
	return out, nil
}
