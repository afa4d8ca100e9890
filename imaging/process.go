package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"
)

// Process makes every preset in every format from src, the bytes of an original image.
//
// It first reads the original's header and waits for one of the Processor's MaxJobs slots
// and for the job's estimated memory out of Config.MemoryBudget (see memory.go),
// returning ctx's error if ctx ends first. It then decodes src once, using shrink-on-load for the largest preset, applies
// the EXIF orientation, converts to sRGB and makes each variant from that one decoded image
// (see the package documentation for the pipeline, encoder settings and what is stripped).
// A preset larger than the original gets the original's size. ctx is checked between
// steps; a step already running in libvips finishes first.
//
// An original libvips cannot decode (not an image, a blocked format, damaged or truncated)
// gives an error wrapping ErrUndecodable; one with more than Config.MaxPixels pixels, one
// wrapping ErrTooLarge and ErrUndecodable. Both are permanent. src is only read, and only
// during the call.
func (p *Processor) Process(ctx context.Context, src []byte, presets []Preset, formats []Format) (Result, error) {
	if len(src) == 0 {
		return Result{}, fmt.Errorf("imaging: empty original: %w", ErrUndecodable)
	}
	// libvips reads src in place during the call.
	var pin runtime.Pinner
	pin.Pin(&src[0])
	defer pin.Unpin()
	return p.process(ctx, source{buf: src}, presets, formats)
}

// ProcessFile is Process for an original in a local file, which libvips reads (or maps)
// itself, so the caller needn't load it into Go's heap: prefer it when the original is
// already on disk. Errors are as for Process; a file that cannot be opened gives an error
// wrapping ErrUndecodable too, with libvips' message saying why.
func (p *Processor) ProcessFile(ctx context.Context, path string, presets []Preset, formats []Format) (Result, error) {
	return p.process(ctx, source{path: path}, presets, formats)
}

func (p *Processor) process(ctx context.Context, src source, presets []Preset, formats []Format) (Result, error) {
	if err := validateRequest(presets, formats); err != nil {
		return Result{}, fmt.Errorf("imaging: invalid request: %w", err)
	}
	// The header is read before admission (it decodes no pixel): admission weighs the job by
	// its memory estimate.
	hdr, err := src.readHeader()
	if err != nil {
		return Result{}, err
	}
	if int64(hdr.width)*int64(hdr.height) > p.cfg.MaxPixels {
		return Result{}, fmt.Errorf("imaging: original is %dx%d, over %d pixels: %w (%w)",
			hdr.width, hdr.height, p.cfg.MaxPixels, ErrTooLarge, ErrUndecodable)
	}
	release, err := p.admit(ctx, hdr.memoryEstimate())
	if err != nil {
		return Result{}, err
	}
	defer release()

	var s scope
	defer s.close()

	width, height := hdr.upright()
	obs := observer(p.cfg.Observe)
	start := time.Now()
	base, err := p.tune.base(&s, src, hdr, largest(presets))
	if err != nil {
		return Result{}, err
	}
	obs.step(ctx, "decode", "", "", start)

	res := Result{Width: width, Height: height}
	variants, small, err := p.tune.variants(ctx, obs, &s, base, width, height, presets, formats)
	if err != nil {
		return Result{}, err
	}
	res.Variants = variants
	w, h, rgba, err := s.rgbaRender(small, p.tune.kernel)
	if err != nil {
		return Result{}, err
	}
	res.ThumbHash = thumbHash(w, h, rgba)
	res.DominantColor = dominantColor(rgba)
	return res, nil
}

func largest(presets []Preset) int {
	return slices.MaxFunc(presets, func(a, b Preset) int { return cmp.Compare(a.LongSide, b.LongSide) }).LongSide
}

// base decodes src once and returns it at the size of the largest preset (or the
// original's, if smaller), in 8-bit sRGB, upright, without metadata and in memory.
func (t tuning) base(s *scope, src source, hdr header, largest int) (*C.VipsImage, error) {
	width, height := hdr.upright()
	bw, bh := fitLongSide(width, height, largest)
	if width != hdr.width { // stored a quarter turn from upright
		bw, bh = bh, bw
	}
	jpegShrink, webpScale := t.shrinkOnLoad(hdr, max(hdr.width, hdr.height), max(bw, bh))
	im, err := src.open(jpegShrink, webpScale)
	if err != nil {
		return nil, err
	}
	s.own(im)
	// Resize before the colour conversion, as vips_thumbnail does: fewer pixels to convert.
	if im, err = s.resizeTo(im, bw, bh, t.kernel); err != nil {
		return nil, err
	}
	if hdr.displayP3 {
		im, err = s.p3ToSRGB(im)
	} else {
		im, err = s.toSRGB(im)
	}
	if err != nil {
		return nil, err
	}
	if im, err = s.decode(im); err != nil {
		return nil, err
	}
	if hdr.orientation != 1 {
		if im, err = s.upright(im); err != nil {
			return nil, err
		}
		if im, err = s.inMemory(im); err != nil {
			return nil, err
		}
	}
	return s.strip(im)
}

// variants resizes base to each preset and encodes each in every format. Presets are
// made largest first, each computed into memory once for all its formats and, with
// t.cascade, resized from the one before. It also returns the smallest preset image that
// is still at least placeholderSide on its longer side, or base, to render the
// placeholders from cheaply; it is owned by s.
func (t tuning) variants(ctx context.Context, obs observer, s *scope, base *C.VipsImage, width, height int, presets []Preset, formats []Format) ([]Variant, *C.VipsImage, error) {
	order := make([]int, len(presets))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(presets[b].LongSide, presets[a].LongSide) })

	out := make([]Variant, len(presets)*len(formats))
	from, forPlaceholder := base, base
	for _, i := range order {
		preset := presets[i]
		w, h := fitLongSide(width, height, preset.LongSide)
		var sized scope
		start := time.Now()
		im, err := sized.resizeTo(from, w, h, t.kernel)
		if err == nil && im != from {
			im, err = sized.inMemory(im)
		}
		if err != nil {
			sized.close()
			return nil, nil, fmt.Errorf("imaging: preset %s: %w", preset.Name, err)
		}
		obs.step(ctx, "resize", preset.Name, "", start)
		for j, f := range formats {
			if err := ctx.Err(); err != nil {
				sized.close()
				return nil, nil, err
			}
			start := time.Now()
			data, err := t.encode(&sized, im, f)
			if err != nil {
				sized.close()
				return nil, nil, fmt.Errorf("imaging: preset %s: %w", preset.Name, err)
			}
			obs.step(ctx, "encode", preset.Name, f, start)
			out[i*len(formats)+j] = Variant{
				Preset: preset.Name, Format: f, Width: w, Height: h, Data: data, MediaType: f.MediaType(),
			}
		}
		keep := t.cascade
		if max(w, h) >= placeholderSide {
			forPlaceholder, keep = im, true
		}
		if keep {
			s.images = append(s.images, sized.images...) // im stays alive until s closes
		} else {
			sized.close()
		}
		if t.cascade {
			from = im
		}
	}
	return out, forPlaceholder, nil
}
