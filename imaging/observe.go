package imaging

import (
	"context"
	"time"
)

// Step is one timed step of Process, told to Config.Observe when it ends.
type Step struct {
	// Name is "decode" (the original to the base image: load, shrink, orient, sRGB),
	// "resize" (the base to one preset's size) or "encode" (one preset in one format).
	Name   string
	Preset string // "" for decode
	Format Format // "" for decode and resize
	Start  time.Time
	End    time.Time
}

// observer tells Config.Observe, when set, of each step.
type observer func(ctx context.Context, s Step)

// step reports the step named name that began at start, ending now.
func (o observer) step(ctx context.Context, name, preset string, f Format, start time.Time) {
	if o != nil {
		o(ctx, Step{Name: name, Preset: preset, Format: f, Start: start, End: time.Now()})
	}
}
