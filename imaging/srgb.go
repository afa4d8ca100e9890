package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

// toSRGB converts in to 8-bit sRGB through its embedded ICC profile, if any.
func (s *scope) toSRGB(in *C.VipsImage) (*C.VipsImage, error) {
	var out *C.VipsImage
	if C.vitrine_to_srgb(in, &out) != 0 {
		return nil, vipsFailed("converting to sRGB")
	}
	return s.own(out), nil
}
