package imaging

import "fmt"

// dominantColor returns the most common colour of an 8-bit RGBA render as "#rrggbb".
//
// Each pixel that is at least half opaque is put in one of 512 boxes by the top 3 bits of
// its red, green and blue; the fullest box wins (the lowest box number on a tie, so the
// answer is deterministic) and the result is the mean colour of the pixels in it, not the
// box's centre. A wholly transparent render gives the mean of all its pixels. The render
// is the same ≤100×100 one the ThumbHash is computed from.
func dominantColor(rgba []byte) string {
	var count [512]int
	var sum [512][3]int
	for i := 0; i+3 < len(rgba); i += 4 {
		if rgba[i+3] < 128 {
			continue
		}
		r, g, b := int(rgba[i]), int(rgba[i+1]), int(rgba[i+2])
		box := r>>5<<6 | g>>5<<3 | b>>5
		count[box]++
		sum[box][0] += r
		sum[box][1] += g
		sum[box][2] += b
	}
	best := 0
	for box := range count {
		if count[box] > count[best] {
			best = box
		}
	}
	if count[best] == 0 { // nothing opaque: average everything
		var n int
		for i := 0; i+3 < len(rgba); i += 4 {
			n++
			for c := 0; c < 3; c++ {
				sum[0][c] += int(rgba[i+c])
			}
		}
		if n == 0 {
			return "#000000"
		}
		best, count[0] = 0, n
	}
	n := count[best]
	return fmt.Sprintf("#%02x%02x%02x", (sum[best][0]+n/2)/n, (sum[best][1]+n/2)/n, (sum[best][2]+n/2)/n)
}
