package imaging

import "math"

// thumbHash encodes a width×height image of 8-bit RGBA pixels (not premultiplied, row by
// row, width and height at most 100) as a ThumbHash, following Evan Wallace's published
// algorithm (https://evanw.github.io/thumbhash/):
//
//   - The pixels are composited over their own average colour and turned into four
//     channels: luminance L = (r+g+b)/3, P = (r+g)/2 − b (yellow–blue), Q = r − g
//     (red–green) and alpha.
//   - Each channel is summarised by the low-frequency terms of its 2D DCT: up to 7
//     luminance terms along the longer side (5 when there is transparency), 3 for P and Q,
//     5 for alpha, keeping only the triangle cx·ny < nx·(ny−cy).
//   - A 5-byte header holds the DC terms (the average colour), the AC scales, the aspect
//     ratio and whether there is alpha (then one more byte for alpha's DC and scale); the AC
//     terms follow as 4-bit values, two per byte, L then P then Q then alpha.
//
// Arithmetic is float64, like the reference JavaScript, so hashes match it byte for byte.
func thumbHash(width, height int, rgba []byte) []byte {
	n := width * height
	// Average colour, weighted by alpha.
	var avgR, avgG, avgB, avgA float64
	for i := 0; i < n; i++ {
		alpha := float64(rgba[4*i+3]) / 255
		avgR += alpha / 255 * float64(rgba[4*i])
		avgG += alpha / 255 * float64(rgba[4*i+1])
		avgB += alpha / 255 * float64(rgba[4*i+2])
		avgA += alpha
	}
	if avgA > 0 {
		avgR /= avgA
		avgG /= avgA
		avgB /= avgA
	}

	hasAlpha := avgA < float64(n)
	lLimit := 7 // fewer luminance terms when alpha needs room
	if hasAlpha {
		lLimit = 5
	}
	longer := float64(max(width, height))
	lx := max(1, int(math.Round(float64(lLimit*width)/longer)))
	ly := max(1, int(math.Round(float64(lLimit*height)/longer)))

	l := make([]float64, n)
	p := make([]float64, n)
	q := make([]float64, n)
	a := make([]float64, n)
	for i := 0; i < n; i++ {
		alpha := float64(rgba[4*i+3]) / 255
		r := avgR*(1-alpha) + alpha/255*float64(rgba[4*i])
		g := avgG*(1-alpha) + alpha/255*float64(rgba[4*i+1])
		b := avgB*(1-alpha) + alpha/255*float64(rgba[4*i+2])
		l[i] = (r + g + b) / 3
		p[i] = (r+g)/2 - b
		q[i] = r - g
		a[i] = alpha
	}

	lDC, lAC, lScale := dctEncode(l, width, height, max(lx, 3), max(ly, 3))
	pDC, pAC, pScale := dctEncode(p, width, height, 3, 3)
	qDC, qAC, qScale := dctEncode(q, width, height, 3, 3)
	aDC, aAC, aScale := 1.0, []float64(nil), 1.0
	if hasAlpha {
		aDC, aAC, aScale = dctEncode(a, width, height, 5, 5)
	}

	landscape := width > height
	header24 := uint32(math.Round(63*lDC)) |
		uint32(math.Round(31.5+31.5*pDC))<<6 |
		uint32(math.Round(31.5+31.5*qDC))<<12 |
		uint32(math.Round(31*lScale))<<18
	if hasAlpha {
		header24 |= 1 << 23
	}
	header16 := uint16(lx)
	if landscape {
		header16 = uint16(ly)
	}
	header16 |= uint16(math.Round(63*pScale))<<3 | uint16(math.Round(63*qScale))<<9
	if landscape {
		header16 |= 1 << 15
	}

	hash := []byte{byte(header24), byte(header24 >> 8), byte(header24 >> 16), byte(header16), byte(header16 >> 8)}
	if hasAlpha {
		hash = append(hash, byte(math.Round(15*aDC))|byte(math.Round(15*aScale))<<4)
	}
	odd := false
	for _, ac := range [][]float64{lAC, pAC, qAC, aAC} {
		for _, f := range ac {
			u := byte(math.Round(15 * f))
			if odd {
				hash[len(hash)-1] |= u << 4
			} else {
				hash = append(hash, u)
			}
			odd = !odd
		}
	}
	return hash
}

// dctEncode returns the DC term of channel's 2D DCT, its low-frequency AC terms (the
// triangle cx·ny < nx·(ny−cy), without DC) normalised to [0, 1], and the scale that
// normalisation divided by.
func dctEncode(channel []float64, width, height, nx, ny int) (dc float64, ac []float64, scale float64) {
	fx := make([]float64, width)
	for cy := 0; cy < ny; cy++ {
		for cx := 0; cx*ny < nx*(ny-cy); cx++ {
			for x := range fx {
				fx[x] = math.Cos(math.Pi / float64(width) * float64(cx) * (float64(x) + 0.5))
			}
			f := 0.0
			for y := 0; y < height; y++ {
				fy := math.Cos(math.Pi / float64(height) * float64(cy) * (float64(y) + 0.5))
				row := channel[y*width : (y+1)*width]
				for x, v := range row {
					f += v * fx[x] * fy
				}
			}
			f /= float64(width * height)
			if cx > 0 || cy > 0 {
				ac = append(ac, f)
				scale = max(scale, math.Abs(f))
			} else {
				dc = f
			}
		}
	}
	if scale > 0 {
		for i := range ac {
			ac[i] = 0.5 + 0.5/scale*ac[i]
		}
	}
	return dc, ac, scale
}
