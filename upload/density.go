package upload

import (
	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/imageinfo"
)

// checkDensity refuses an image that declares far more pixels than its size can plausibly
// hold: above DensityFrom pixels, at most MaxPixelsPerByte pixels per byte of the upload. A
// file of a few hundred bytes that decodes to 49 megapixels (a lossless WebP or PNG of one
// colour) would otherwise cost a thumbnail job seconds of CPU and hundreds of MiB for
// nothing. Photographs hold 2 to 25 pixels a byte, and even a flat synthetic picture in 24-bit
// PNG, JPEG or GIF at most a few hundred, since those formats cannot compress further; only
// images of two or three colours go beyond. The error is EPIXELS.
func (s *Service) checkDensity(info imageinfo.Info, size int64) error {
	if s.MaxPixelsPerByte <= 0 || info.Pixels() <= s.DensityFrom {
		return nil
	}
	if float64(info.Pixels()) <= s.MaxPixelsPerByte*float64(size) {
		return nil
	}
	return gallery.Errorf(gallery.EPIXELS,
		"the image declares %dx%d pixels in only %d bytes (more than %g pixels a byte): a picture of that size needs a larger file",
		info.Width, info.Height, size, s.MaxPixelsPerByte)
}
