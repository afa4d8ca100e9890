package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

// placeholderSide bounds the render the ThumbHash and the dominant colour are computed
// from: the ThumbHash algorithm takes at most 100×100 pixels.
const placeholderSide = 100

// rgbaRender returns in, scaled to fit placeholderSide×placeholderSide (never up), as
// 8-bit RGBA pixels row by row, not premultiplied.
func (s *scope) rgbaRender(in *C.VipsImage, kernel C.VipsKernel) (width, height int, rgba []byte, err error) {
	w, h := imageSize(in)
	width, height = fitLongSide(w, h, placeholderSide)
	small, err := s.resizeTo(in, width, height, kernel)
	if err != nil {
		return 0, 0, nil, err
	}
	var four *C.VipsImage
	if C.vitrine_rgba(small, &four) != 0 {
		return 0, 0, nil, vipsFailed("making an RGBA render")
	}
	s.own(four)
	var n C.size_t
	mem := C.vips_image_write_to_memory(four, &n)
	if mem == nil {
		return 0, 0, nil, vipsFailed("making an RGBA render")
	}
	defer C.g_free(C.gpointer(mem))
	return width, height, C.GoBytes(mem, C.int(n)), nil
}
