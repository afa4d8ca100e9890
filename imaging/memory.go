package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

import (
	"os"
	"strings"
	"unsafe"
)

// The memory model of one Process call, calibrated with BenchmarkPeakRSS (peak resident set
// of a process that runs one job, less the same process before the job):
//   - every job holds its working images and encoded variants, about jobBaseMemory;
//   - a progressive JPEG makes libjpeg keep every DCT coefficient of the image, 2 bytes per
//     sample, whatever the shrink-on-load;
//   - a baseline JPEG, and a lossy WebP, are decoded already shrunk, a strip at a time;
//   - a HEIF (HEIC, AVIF) is decoded whole by libheif, planes and RGB(A) copy (see below);
//   - any other original (PNG, GIF, lossless WebP, TIFF) is assumed to be decoded
//     whole, at full size and bit depth: libwebp decodes a lossless image into a full-size
//     ARGB buffer, libnsgif a GIF into a full frame, and an interlaced PNG needs every pass.
//
// A non-interlaced PNG is in fact read a strip at a time, but the estimate does not rely on
// it: over-estimating only makes a job wait for more of the budget.
const (
	jobBaseMemory = 64 << 20
)

// memoryEstimate returns the bytes one job on an original with header h is expected to use
// at its peak, beyond what the process holds without it.
func (h header) memoryEstimate() int64 {
	pixels := int64(h.width) * int64(h.height)
	bands := int64(max(h.bands, 1))
	sample := int64(max(h.sampleBytes, 1))
	est := int64(jobBaseMemory)
	switch {
	case strings.HasPrefix(h.loader, "jpegload") && h.interlaced:
		est += pixels * bands * 2
	case strings.HasPrefix(h.loader, "jpegload"):
	case strings.HasPrefix(h.loader, "webpload") && h.lossyWebP:
	case isHEIF(h.loader):
		// libheif decodes the whole image: its YCbCr planes and the interleaved RGB(A) copy
		// libvips reads, 2 more bytes a pixel than the RGB(A) alone. Measured for 12.2 MP
		// (BenchmarkPeakRSS): HEIC 116 MiB, AVIF 105, a HEIC grid of 512×512 tiles 80.
		est += pixels * (max(bands, 3) + 3) * sample
	default:
		est += pixels * max(bands, 4) * sample // decoders that expand to RGBA
	}
	return est
}

// readDepth fills in the header fields that the memory estimate needs: bands, bytes per
// sample and interlacing (a progressive JPEG, an interlaced PNG).
func (h *header) readDepth(im *C.VipsImage) {
	h.bands = int(C.vips_image_get_bands(im))
	switch C.vips_image_get_format(im) {
	case C.VIPS_FORMAT_USHORT, C.VIPS_FORMAT_SHORT:
		h.sampleBytes = 2
	case C.VIPS_FORMAT_UINT, C.VIPS_FORMAT_INT, C.VIPS_FORMAT_FLOAT:
		h.sampleBytes = 4
	case C.VIPS_FORMAT_DOUBLE, C.VIPS_FORMAT_COMPLEX:
		h.sampleBytes = 8
	default:
		h.sampleBytes = 1
	}
	h.interlaced = intField(im, "interlaced") != 0
}

// isLossyWebP says whether a WebP file starts with the bitstream of a simple lossy image
// ("VP8 "), which libwebp decodes already scaled, a strip at a time. An extended (VP8X) WebP
// may hold a lossless image or an animation, and is counted as decoded whole.
func isLossyWebP(start []byte) bool {
	return len(start) >= 16 && string(start[0:4]) == "RIFF" && string(start[8:16]) == "WEBPVP8 "
}

// intField returns an integer metadata field of im, or 0 when it has none.
func intField(im *C.VipsImage, name string) int {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	if C.vips_image_get_typeof(im, cname) == 0 {
		return 0
	}
	var v C.int
	if C.vips_image_get_int(im, cname, &v) != 0 {
		return 0
	}
	return int(v)
}

// fileStart returns the first n bytes of src (fewer if it is shorter).
func (src source) fileStart(n int) []byte {
	if src.path == "" {
		return src.buf[:min(n, len(src.buf))]
	}
	f, err := os.Open(src.path)
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, n)
	k, _ := f.Read(buf)
	return buf[:k]
}
