package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// naiveThumbnails makes each preset the naive way, calling vips_thumbnail_buffer once per
// preset (each call decodes src again, with its own shrink-on-load) and saving WebP with
// t's settings. It exists as the baseline Process is benchmarked against.
func naiveThumbnails(src []byte, presets []Preset, t tuning) ([][]byte, error) {
	var pin runtime.Pinner
	pin.Pin(&src[0])
	defer pin.Unpin()

	out := make([][]byte, 0, len(presets))
	for _, p := range presets {
		var im *C.VipsImage
		if C.vitrine_thumbnail_buffer(unsafe.Pointer(&src[0]), C.size_t(len(src)), C.int(p.LongSide), &im) != 0 {
			return nil, undecodable("thumbnailing")
		}
		var s scope
		s.own(im)
		data, err := t.encode(&s, im, WebP)
		s.close()
		if err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	return out, nil
}

// thumbnailThenResize is another design benchmarked against Process: vips_thumbnail_buffer
// once for the largest preset (it does shrink-on-load, orientation and colour management),
// that result kept in memory, and the smaller presets resized from it.
func thumbnailThenResize(src []byte, presets []Preset, t tuning) ([][]byte, error) {
	var pin runtime.Pinner
	pin.Pin(&src[0])
	defer pin.Unpin()

	var s scope
	defer s.close()
	var im *C.VipsImage
	if C.vitrine_thumbnail_buffer(unsafe.Pointer(&src[0]), C.size_t(len(src)), C.int(largest(presets)), &im) != 0 {
		return nil, undecodable("thumbnailing")
	}
	s.own(im)
	base, err := s.inMemory(im)
	if err != nil {
		return nil, err
	}
	w, h := imageSize(base)
	out := make([][]byte, 0, len(presets))
	for _, p := range presets {
		pw, ph := fitLongSide(w, h, p.LongSide)
		sized, err := s.resizeTo(base, pw, ph, t.kernel)
		if err != nil {
			return nil, err
		}
		data, err := t.encode(&s, sized, WebP)
		if err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	return out, nil
}
