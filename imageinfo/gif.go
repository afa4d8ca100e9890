package imageinfo

import (
	"encoding/binary"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
)

// scanGIF walks the blocks of a GIF up to the trailer. It checks the block
// structure, the LZW minimum code size of every frame and that every frame
// has data, but does not decode the LZW data.
func scanGIF(s *source) error {
	var h [13]byte // header and logical screen descriptor
	if err := s.full(h[:]); err != nil {
		return err
	}
	width := int64(binary.LittleEndian.Uint16(h[6:8]))
	height := int64(binary.LittleEndian.Uint16(h[8:10]))
	if err := s.setDims(width, height); err != nil {
		return err
	}
	if err := skipGIFColorTable(s, h[10]); err != nil {
		return err
	}

	frames := 0
	for {
		c, err := s.byte()
		if err != nil {
			return err
		}
		switch c {
		case 0x21: // extension: label, then sub-blocks
			label, err := s.byte()
			if err != nil {
				return err
			}
			if err := skipGIFExtension(s, label); err != nil {
				return err
			}
		case 0x2c: // image descriptor
			frames++
			if frames > maxFrames {
				return s.tooManyFrames()
			}
			var d [9]byte
			if err := s.full(d[:]); err != nil {
				return err
			}
			left := int64(binary.LittleEndian.Uint16(d[0:2]))
			top := int64(binary.LittleEndian.Uint16(d[2:4]))
			fw := int64(binary.LittleEndian.Uint16(d[4:6]))
			fh := int64(binary.LittleEndian.Uint16(d[6:8]))
			// Frames may extend beyond the logical screen; decoders then
			// need a larger canvas, so the limit applies to that too.
			if left+fw > width || top+fh > height {
				width, height = max(width, left+fw), max(height, top+fh)
				if err := s.checkPixels(width, height); err != nil {
					return err
				}
			}
			if err := skipGIFColorTable(s, d[8]); err != nil {
				return err
			}
			litWidth, err := s.byte()
			if err != nil {
				return err
			}
			if litWidth < 2 || litWidth > 8 {
				return s.corrupt("bad LZW code size")
			}
			n, err := skipGIFSubBlocks(s)
			if err != nil {
				return err
			}
			if n == 0 && fw*fh > 0 {
				return s.corrupt("missing image data")
			}
		case 0x3b: // trailer
			if frames == 0 {
				return s.corrupt("no image")
			}
			return s.drain()
		default:
			return s.corrupt("unknown block type")
		}
	}
}

// skipGIFColorTable skips the colour table announced by the packed flags of a
// logical screen or image descriptor.
func skipGIFColorTable(s *source, flags byte) error {
	if flags&0x80 == 0 {
		return nil
	}
	return s.skip(3<<(flags&7+1), nil)
}

// skipGIFExtension consumes the sub-blocks of an extension whose label has been
// read, counting those of an ICC profile's application extension (label 0xff,
// a first sub-block of 11 bytes naming ICCRGBG1012) as profile data.
func skipGIFExtension(s *source, label byte) error {
	if label != 0xff {
		_, err := skipGIFSubBlocks(s)
		return err
	}
	n, err := s.byte()
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	id := make([]byte, n)
	if err := s.full(id); err != nil {
		return err
	}
	data, err := skipGIFSubBlocks(s)
	if err != nil {
		return err
	}
	if string(id) == imageformat.GIFICCApplication {
		s.info.ProfileBytes += data
	}
	return nil
}

// skipGIFSubBlocks skips data sub-blocks up to the block terminator and
// returns the number of data bytes.
func skipGIFSubBlocks(s *source) (int64, error) {
	var total int64
	for {
		n, err := s.byte()
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return total, nil
		}
		if err := s.skip(int64(n), nil); err != nil {
			return 0, err
		}
		total += int64(n)
	}
}
