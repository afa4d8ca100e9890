package testphotos

import "image"

// CellDifference compares the colours of two images of the same size: it splits each into
// 16×12 cells and returns the mean absolute difference, in 8-bit levels, between the mean
// red, green and blue of matching cells, and false if the sizes differ. Averaging over cells
// cancels most of a lossy codec's noise (which moves single pixels by several levels) but
// keeps what a viewer sees: a colour cast, a colour space read wrongly (sRGB taken for
// Display P3 moves a photograph's cells by several levels), a turn or a flip (tens).
func CellDifference(a, b image.Image) (float64, bool) {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Dx() != bb.Dx() || ab.Dy() != bb.Dy() {
		return 0, false
	}
	return gridDifference(MeanGrid(a, cellCols, cellRows), MeanGrid(b, cellCols, cellRows)), true
}

// gridDifference is the mean absolute difference between the channels of matching cells of
// two MeanGrids of the same shape.
func gridDifference(a, b [][3]float64) float64 {
	var sum float64
	for i := range a {
		for c := range 3 {
			d := a[i][c] - b[i][c]
			sum += max(d, -d)
		}
	}
	return sum / float64(3*len(a))
}

// MaxCellDifference is how far (CellDifference) a variant made from one of the HEIF
// photographs may be from the same preset made from IPhoneJPEG. Both are the same pixels
// through different lossy codecs: measured 0.1-0.3 for presets of 480 pixels and more, and
// 0.9-1.2 for a 96×72 minithumb (cells of 6×6 pixels). HEICNclxP3 read as sRGB, as libvips
// 8.14 does by itself, measured 2.4-2.9; a turn changes the size.
const MaxCellDifference = 1.5

const cellCols, cellRows = 16, 12

// MeanGrid returns the mean red, green and blue, in 8-bit levels, of each cell of a
// cols×rows grid over img (fewer when img is smaller), row by row, for comparing images
// loosely.
func MeanGrid(img image.Image, cols, rows int) [][3]float64 {
	b := img.Bounds()
	cols, rows = min(cols, b.Dx()), min(rows, b.Dy())
	cells := make([][3]float64, cols*rows)
	counts := make([]float64, cols*rows)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := (y-b.Min.Y)*rows/b.Dy()*cols + (x-b.Min.X)*cols/b.Dx()
			cells[c][0] += float64(r >> 8)
			cells[c][1] += float64(g >> 8)
			cells[c][2] += float64(bl >> 8)
			counts[c]++
		}
	}
	for i := range cells {
		for c := range 3 {
			cells[i][c] /= max(counts[i], 1)
		}
	}
	return cells
}
