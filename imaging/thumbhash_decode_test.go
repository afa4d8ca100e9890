package imaging

import (
	"errors"
	"math"
)

// A ThumbHash decoder, following the published algorithm, to test the encoder against.

// thumbHashAverageRGBA returns the average colour a ThumbHash stores, each channel in
// [0, 1].
func thumbHashAverageRGBA(hash []byte) (r, g, b, a float64, err error) {
	if len(hash) < 5 {
		return 0, 0, 0, 0, errors.New("thumbhash too short")
	}
	header := uint32(hash[0]) | uint32(hash[1])<<8 | uint32(hash[2])<<16
	l := float64(header&63) / 63
	p := float64(header>>6&63)/31.5 - 1
	q := float64(header>>12&63)/31.5 - 1
	a = 1
	if header>>23 != 0 {
		if len(hash) < 6 {
			return 0, 0, 0, 0, errors.New("thumbhash too short")
		}
		a = float64(hash[5]&15) / 15
	}
	b = l - 2.0/3*p
	r = (3*l - b + q) / 2
	g = r - q
	return clamp01(r), clamp01(g), clamp01(b), a, nil
}

// thumbHashAspectRatio returns the approximate width/height a ThumbHash stores.
func thumbHashAspectRatio(hash []byte) float64 {
	hasAlpha := hash[2]&0x80 != 0
	lMax := 7
	if hasAlpha {
		lMax = 5
	}
	lMin := int(hash[3] & 7)
	if hash[4]&0x80 != 0 { // landscape
		return float64(lMax) / float64(lMin)
	}
	return float64(lMin) / float64(lMax)
}

// thumbHashToRGBA renders a ThumbHash as a small RGBA image (32 pixels on its longer side).
func thumbHashToRGBA(hash []byte) (w, h int, rgba []byte, err error) {
	if len(hash) < 5 {
		return 0, 0, nil, errors.New("thumbhash too short")
	}
	ratio := thumbHashAspectRatio(hash)
	header24 := uint32(hash[0]) | uint32(hash[1])<<8 | uint32(hash[2])<<16
	header16 := uint16(hash[3]) | uint16(hash[4])<<8
	lDC := float64(header24&63) / 63
	pDC := float64(header24>>6&63)/31.5 - 1
	qDC := float64(header24>>12&63)/31.5 - 1
	lScale := float64(header24>>18&31) / 31
	hasAlpha := header24>>23 != 0
	pScale := float64(header16>>3&63) / 63
	qScale := float64(header16>>9&63) / 63
	landscape := header16>>15 != 0
	lMax := 7
	if hasAlpha {
		lMax = 5
	}
	lx, ly := max(3, int(header16&7)), max(3, lMax)
	if landscape {
		lx, ly = max(3, lMax), max(3, int(header16&7))
	}
	aDC, aScale := 1.0, 1.0
	pos := 5
	if hasAlpha {
		if len(hash) < 6 {
			return 0, 0, nil, errors.New("thumbhash too short")
		}
		aDC, aScale = float64(hash[5]&15)/15, float64(hash[5]>>4)/15
		pos = 6
	}

	nibble := 0
	var short bool
	decode := func(nx, ny int, scale float64) []float64 {
		var ac []float64
		for cy := 0; cy < ny; cy++ {
			cx := 0
			if cy == 0 {
				cx = 1
			}
			for ; cx*ny < nx*(ny-cy); cx++ {
				i := pos + nibble/2
				if i >= len(hash) {
					short = true
					return ac
				}
				bits := hash[i] >> (4 * (nibble & 1)) & 15
				nibble++
				ac = append(ac, (float64(bits)/7.5-1)*scale)
			}
		}
		return ac
	}
	lAC := decode(lx, ly, lScale)
	pAC := decode(3, 3, pScale*1.25) // the reference boosts saturation to undo quantisation
	qAC := decode(3, 3, qScale*1.25)
	var aAC []float64
	if hasAlpha {
		aAC = decode(5, 5, aScale)
	}
	if short {
		return 0, 0, nil, errors.New("thumbhash too short")
	}

	w, h = 32, int(math.Round(32/ratio))
	if ratio <= 1 {
		w, h = int(math.Round(32*ratio)), 32
	}
	rgba = make([]byte, 0, 4*w*h)
	fx, fy := make([]float64, 7), make([]float64, 7)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			l, p, q, a := lDC, pDC, qDC, aDC
			for cx := range fx {
				fx[cx] = math.Cos(math.Pi / float64(w) * (float64(x) + 0.5) * float64(cx))
			}
			for cy := range fy {
				fy[cy] = math.Cos(math.Pi / float64(h) * (float64(y) + 0.5) * float64(cy))
			}
			sum := func(ac []float64, nx, ny int) float64 {
				var v float64
				j := 0
				for cy := 0; cy < ny; cy++ {
					cx := 0
					if cy == 0 {
						cx = 1
					}
					for ; cx*ny < nx*(ny-cy); cx++ {
						v += ac[j] * fx[cx] * fy[cy] * 2
						j++
					}
				}
				return v
			}
			l += sum(lAC, lx, ly)
			p += sum(pAC, 3, 3)
			q += sum(qAC, 3, 3)
			if hasAlpha {
				a += sum(aAC, 5, 5)
			}
			b := l - 2.0/3*p
			r := (3*l - b + q) / 2
			g := r - q
			rgba = append(rgba, byte(clamp01(r)*255), byte(clamp01(g)*255), byte(clamp01(b)*255), byte(clamp01(a)*255))
		}
	}
	return w, h, rgba, nil
}

func clamp01(v float64) float64 { return min(1, max(0, v)) }
