package imaging

// #cgo pkg-config: vips
// #include <vips/vips.h>
import "C"

// tuning holds the pipeline's design choices that the benchmarks compare. Production uses
// defaultTuning; the other values exist so that the alternatives stay measurable.
type tuning struct {
	// shrinkMargin keeps the shrink-on-load output at least twice the largest preset, to
	// leave a real resize after libjpeg's DCT scaling, instead of just at least the preset.
	shrinkMargin bool
	// cascade makes each smaller preset from the next larger one instead of from the base:
	// about 9% less CPU for the default presets, with no visible difference.
	cascade bool
	// webpEffort is libwebp's effort, 0 (fastest) to 6.
	webpEffort int
	// kernel is the resampling kernel of every resize.
	kernel C.VipsKernel
}

var defaultTuning = tuning{cascade: true, webpEffort: webpEffort, kernel: C.VIPS_KERNEL_LANCZOS3}

// The kernels the benchmarks compare; Lanczos3 is libvips' default.
const (
	kernelLinear = C.VIPS_KERNEL_LINEAR
	kernelCubic  = C.VIPS_KERNEL_CUBIC
)
