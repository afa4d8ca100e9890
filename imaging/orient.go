package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

// upright applies the EXIF orientation and drops it.
func (s *scope) upright(in *C.VipsImage) (*C.VipsImage, error) {
	var out *C.VipsImage
	if C.vitrine_autorot(in, &out) != 0 {
		return nil, vipsFailed("applying the EXIF orientation")
	}
	return s.own(out), nil
}
