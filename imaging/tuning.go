package imaging

// tuning holds the pipeline's design choices that the benchmarks compare. Production uses
// defaultTuning; the other values exist so that the alternatives stay measurable.
type tuning struct {
	// shrinkMargin keeps shrink-on-load at least twice the largest preset, as
	// vips_thumbnail does, instead of just at least the preset.
	shrinkMargin bool
	// cascade makes each smaller preset from the next larger one instead of from the base.
	cascade bool
	// webpEffort is libwebp's effort, 0 (fastest) to 6.
	webpEffort int
}

var defaultTuning = tuning{webpEffort: webpEffort}
