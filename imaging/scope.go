package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

// scope owns the libvips images a job makes and unrefs them together.
type scope struct{ images []*C.VipsImage }

func (s *scope) own(im *C.VipsImage) *C.VipsImage {
	s.images = append(s.images, im)
	return im
}

func (s *scope) close() {
	for i := len(s.images) - 1; i >= 0; i-- {
		C.vitrine_unref(s.images[i])
	}
	s.images = nil
}

func imageSize(im *C.VipsImage) (width, height int) {
	return int(C.vips_image_get_width(im)), int(C.vips_image_get_height(im))
}

// decode computes in's pixels into memory, running the lazy pipeline behind it, which
// decodes the original: a failure here is the original's, and permanent.
func (s *scope) decode(in *C.VipsImage) (*C.VipsImage, error) {
	out := C.vips_image_copy_memory(in)
	if out == nil {
		return nil, undecodable("decoding")
	}
	return s.own(out), nil
}

// inMemory computes in's pixels into memory, so that the steps reading it several times
// don't recompute them.
func (s *scope) inMemory(in *C.VipsImage) (*C.VipsImage, error) {
	out := C.vips_image_copy_memory(in)
	if out == nil {
		return nil, vipsFailed("computing an image into memory")
	}
	return s.own(out), nil
}
