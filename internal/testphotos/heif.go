package testphotos

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The HEIF, HEIC and AVIF photographs below are all made from IPhoneJPEG, the same
// photograph at an iPhone's 12 MP (4032×3024), by libheif's encoder heif-enc (Debian's
// libheif-examples, which `scripts/install-deps.sh --test` installs). They are made on
// first use and kept in the cache like Large. Each is upright as a viewer shows it: the
// same pixels as IPhoneJPEG, whatever the file stores and however it says to turn it.

// IPhoneWidth and IPhoneHeight are the size of IPhoneJPEG and of every HEIF made from it.
const IPhoneWidth, IPhoneHeight = 4032, 3024

// heicQuality is the quality heif-enc is given: about what a phone writes (2-3 MB at 12 MP).
const heicQuality = "60"

// IPhoneJPEG returns a 4032×3024 (12.2 MP) baseline JPEG of a real photograph, the centre
// of LargeOriginal at quality 92, without metadata: the JPEG counterpart of every HEIF here.
func IPhoneJPEG(t testing.TB) string {
	t.Helper()
	return derived(t, "elephants-4032x3024-q92.jpg", func(dst string) error {
		return cropJPEG(LargeOriginal(t), dst, IPhoneWidth, IPhoneHeight, 92)
	})
}

// HEIC returns IPhoneJPEG as a 12 MP HEIC (HEVC, 4:2:0, 8 bits), with neither metadata
// nor colour profile.
func HEIC(t testing.TB) string {
	t.Helper()
	src := IPhoneJPEG(t)
	return derived(t, "elephants-4032x3024.heic", func(dst string) error {
		return heifEnc(filepath.Dir(dst), dst, nil, src)
	})
}

// HEICWithGPS returns the HEIC of IPhoneJPEG with an Exif item that holds GPS coordinates
// (GPSLatitude 48°51'30" N, GPSLongitude 2°17'40" E), as a phone with location on writes it.
func HEICWithGPS(t testing.TB) string {
	t.Helper()
	src := IPhoneJPEG(t)
	return derived(t, "elephants-4032x3024-gps.heic", func(dst string) error {
		in := filepath.Join(filepath.Dir(dst), "gps.jpg")
		if err := withJPEGSegments(src, in, exifSegment(1, true)); err != nil {
			return err
		}
		return heifEnc(filepath.Dir(dst), dst, nil, in)
	})
}

// HEICRotated returns IPhoneJPEG as a HEIC whose image is stored a quarter turn
// anticlockwise (3024×4032) with an irot property that turns it back (a quarter turn
// clockwise, irot angle 3), and with an Exif item whose Orientation (6) says the same
// thing, as an iPhone held upright writes a landscape photograph. A reader must apply the
// turn once: libheif applies irot when decoding, so the EXIF orientation must then be ignored.
func HEICRotated(t testing.TB) string {
	t.Helper()
	src := IPhoneJPEG(t)
	return derived(t, "elephants-4032x3024-irot.heic", func(dst string) error {
		dir := filepath.Dir(dst)
		img, err := decodeJPEGFile(src)
		if err != nil {
			return err
		}
		stored := filepath.Join(dir, "stored.jpg")
		if err := writeJPEG(stored, rotateAnticlockwise(img), 95, exifSegment(6, false)); err != nil {
			return err
		}
		plain := filepath.Join(dir, "plain.heic")
		if err := heifEnc(dir, plain, nil, stored); err != nil {
			return err
		}
		return editHEIF(plain, dst, func(f *heifFile) error { return f.rotate(3) })
	})
}

// HEICDisplayP3 returns IPhoneJPEG's pixels converted to Display P3 in a HEIC that carries
// a Display P3 ICC profile in its colr box (type prof), as iPhones write their photographs.
// Read through its profile, it has IPhoneJPEG's colours; read as sRGB, they are duller.
func HEICDisplayP3(t testing.TB) string {
	t.Helper()
	src := IPhoneJPEG(t)
	return derived(t, "elephants-4032x3024-p3-icc.heic", func(dst string) error {
		in := filepath.Join(filepath.Dir(dst), "p3.jpg")
		img, err := decodeJPEGFile(src)
		if err != nil {
			return err
		}
		if err := writeJPEG(in, toDisplayP3(img), 95, iccSegment(displayP3Profile())); err != nil {
			return err
		}
		return heifEnc(filepath.Dir(dst), dst, nil, in)
	})
}

// HEICNclxP3 returns IPhoneJPEG's pixels converted to Display P3 in a HEIC whose colr box
// is of type nclx: colour primaries 12 (P3 with a D65 white point), transfer 13 (sRGB's)
// and matrix 6 (BT.601), without an ICC profile.
func HEICNclxP3(t testing.TB) string {
	t.Helper()
	src := IPhoneJPEG(t)
	return derived(t, "elephants-4032x3024-p3-nclx.heic", func(dst string) error {
		in := filepath.Join(filepath.Dir(dst), "p3.png")
		img, err := decodeJPEGFile(src)
		if err != nil {
			return err
		}
		if err := writePNG(in, toDisplayP3(img)); err != nil {
			return err
		}
		// heif-enc 1.15 writes no nclx box of its own: the box is added after, with the
		// matrix and range heif-enc encoded with (BT.601, full range).
		plain := filepath.Join(filepath.Dir(dst), "plain.heic")
		if err := heifEnc(filepath.Dir(dst), plain, nil, in); err != nil {
			return err
		}
		return editHEIF(plain, dst, func(f *heifFile) error { return f.setNclx(12, 13, 6) })
	})
}

// GridTile is the side of the tiles of HEICGrid, as in an iPhone's HEIC.
const GridTile = 512

// HEICGrid returns IPhoneJPEG as an iPhone stores a photograph: a grid image (8×6 tiles of
// 512×512, each its own HEVC image, the right and bottom ones cropped by the grid's output
// size) as the primary item, the tiles hidden.
func HEICGrid(t testing.TB) string {
	t.Helper()
	src := IPhoneJPEG(t)
	return derived(t, "elephants-4032x3024-grid.heic", func(dst string) error {
		dir := filepath.Dir(dst)
		img, err := decodeJPEGFile(src)
		if err != nil {
			return err
		}
		b := img.Bounds()
		cols, rows := (b.Dx()+GridTile-1)/GridTile, (b.Dy()+GridTile-1)/GridTile
		var tiles []string
		for r := range rows {
			for c := range cols {
				tile := image.NewRGBA(image.Rect(0, 0, GridTile, GridTile))
				for y := range GridTile {
					for x := range GridTile {
						// Past the image's edge, repeat its last row or column.
						sx := min(b.Min.X+c*GridTile+x, b.Max.X-1)
						sy := min(b.Min.Y+r*GridTile+y, b.Max.Y-1)
						tile.Set(x, y, img.At(sx, sy))
					}
				}
				name := filepath.Join(dir, fmt.Sprintf("tile-%02d-%02d.png", r, c))
				if err := writePNG(name, tile); err != nil {
					return err
				}
				tiles = append(tiles, name)
			}
		}
		all := filepath.Join(dir, "tiles.heic")
		if err := heifEnc(dir, all, nil, tiles...); err != nil {
			return err
		}
		return editHEIF(all, dst, func(f *heifFile) error { return f.makeGrid(cols, rows, b.Dx(), b.Dy()) })
	})
}

// AVIF returns IPhoneJPEG as a 12 MP AVIF (AV1, 4:2:0, 8 bits), as an Android phone may
// write it, with neither metadata nor colour profile.
func AVIF(t testing.TB) string {
	t.Helper()
	src := IPhoneJPEG(t)
	return derived(t, "elephants-4032x3024.avif", func(dst string) error {
		return heifEnc(filepath.Dir(dst), dst, []string{"-A", "-p", "speed=8"}, src)
	})
}

// heifEnc runs heif-enc with options opts on the inputs (all into one file), writing out.
func heifEnc(dir, out string, opts []string, inputs ...string) error {
	args := append([]string{"-q", heicQuality, "-o", out}, opts...)
	if err := run(dir, "heif-enc", append(args, inputs...)...); err != nil {
		return fmt.Errorf("%w (heif-enc is in Debian's libheif-examples: scripts/install-deps.sh --test installs it)", err)
	}
	return nil
}

// editHEIF reads the HEIF at src, changes it with edit and writes it to dst.
func editHEIF(src, dst string, edit func(*heifFile) error) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	f, err := parseHEIF(b)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	oldMeta := len(f.meta.bytes())
	if err := edit(f); err != nil {
		return fmt.Errorf("editing %s: %w", src, err)
	}
	return os.WriteFile(dst, f.bytes(oldMeta), 0o644)
}

// rotate gives the primary item an essential irot property: turn anticlockwise by
// angle×90° when displaying.
func (f *heifFile) rotate(angle byte) error {
	id, err := f.primary()
	if err != nil {
		return err
	}
	f.ipma.associate(id, f.addProperty("irot", []byte{angle & 3}), true)
	return nil
}

// setNclx gives the primary item a colr box of type nclx, full range.
func (f *heifFile) setNclx(primaries, transfer, matrix uint16) error {
	id, err := f.primary()
	if err != nil {
		return err
	}
	colr := []byte("nclx")
	for _, v := range []uint16{primaries, transfer, matrix} {
		colr = binary.BigEndian.AppendUint16(colr, v)
	}
	colr = append(colr, 0x80) // full_range_flag
	f.ipma.associate(id, f.addProperty("colr", colr), false)
	return nil
}

// makeGrid makes the file's cols×rows images (heif-enc writes one item per input, in row
// order) the tiles of a new grid item of width×height, which becomes the primary item.
func (f *heifFile) makeGrid(cols, rows, width, height int) error {
	// The grid's description goes at the end of mdat; its offset is written as in the
	// original file, which bytes() then moves with every other extent.
	var mdatStart int
	var mdat *box
	for _, b := range f.top {
		if b.typ == "mdat" {
			mdat = b
			break
		}
		mdatStart += len(b.bytes())
	}

	iinf := child(f.meta.children, "iinf")
	if iinf == nil || len(iinf.children) != cols*rows {
		return fmt.Errorf("want %d images to make a grid of", cols*rows)
	}
	var tiles []uint16
	for _, infe := range iinf.children {
		if len(infe.data) < 12 || infe.data[0] != 2 {
			return fmt.Errorf("infe version %d", infe.data[0])
		}
		tiles = append(tiles, binary.BigEndian.Uint16(infe.data[4:]))
		infe.data[3] |= 1 // hidden
	}
	grid := slices.Max(tiles) + 1

	infe := []byte{2, 0, 0, 0}
	infe = binary.BigEndian.AppendUint16(infe, grid)
	infe = append(infe, 0, 0) // item_protection_index
	infe = append(infe, "grid"...)
	infe = append(infe, 0) // empty item_name
	iinf.children = append(iinf.children, &box{typ: "infe", data: infe})

	iref := child(f.meta.children, "iref")
	if iref == nil {
		iref = &box{typ: "iref", head: []byte{0, 0, 0, 0}, children: []*box{}}
		f.meta.children = append(f.meta.children, iref)
	}
	dimg := binary.BigEndian.AppendUint16(nil, grid)
	dimg = binary.BigEndian.AppendUint16(dimg, uint16(len(tiles)))
	for _, id := range tiles {
		dimg = binary.BigEndian.AppendUint16(dimg, id)
	}
	iref.children = append(iref.children, &box{typ: "dimg", data: dimg})

	pitm := child(f.meta.children, "pitm")
	if pitm == nil || len(pitm.data) < 6 {
		return fmt.Errorf("no pitm box")
	}
	binary.BigEndian.PutUint16(pitm.data[4:], grid)

	ispe := make([]byte, 12)
	binary.BigEndian.PutUint32(ispe[4:], uint32(width))
	binary.BigEndian.PutUint32(ispe[8:], uint32(height))
	f.ipma.associate(uint32(grid), f.addProperty("ispe", ispe), false)

	desc := []byte{0, 0, byte(rows - 1), byte(cols - 1)}
	desc = binary.BigEndian.AppendUint16(desc, uint16(width))
	desc = binary.BigEndian.AppendUint16(desc, uint16(height))
	offset := uint64(mdatStart + 8 + len(mdat.data))
	mdat.data = append(mdat.data, desc...)
	f.iloc.items = append(f.iloc.items, ilocItem{id: uint32(grid), extents: []ilocExtent{{offset: offset, length: uint64(len(desc))}}})
	return nil
}

func decodeJPEGFile(path string) (image.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return img, nil
}

// writeJPEG writes img as a baseline JPEG with the given segments (APPn, with their
// markers) right after its SOI marker.
func writeJPEG(path string, img image.Image, quality int, segments ...[]byte) error {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return err
	}
	return os.WriteFile(path, insertSegments(buf.Bytes(), segments...), 0o644)
}

// withJPEGSegments copies the JPEG at src to dst with segments inserted after its SOI.
func withJPEGSegments(src, dst string, segments ...[]byte) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, insertSegments(b, segments...), 0o644)
}

func insertSegments(jpg []byte, segments ...[]byte) []byte {
	out := slices.Clone(jpg[:2])
	for _, s := range segments {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rotateAnticlockwise turns img a quarter turn anticlockwise.
func rotateAnticlockwise(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(y-b.Min.Y, b.Max.X-1-x, img.At(x, y))
		}
	}
	return out
}
