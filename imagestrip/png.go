package imagestrip

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
)

// pngState is what the PNG stripper is waiting for.
type pngState int

const (
	pngWantSignature pngState = iota
	pngWantChunk              // a chunk's length and type
	pngChunkDone              // the end of a chunk that was copied or skipped
	pngWantEXIF               // the start of the first eXIf chunk's data
	pngIENDDone               // the end of the IEND chunk
)

// pngDropped reports whether a chunk is not copied: metadata, and iDOT, whose offsets
// dropping other chunks can invalidate.
func pngDropped(typ string) bool {
	switch typ {
	case "eXIf", "tEXt", "zTXt", "iTXt", "tIME", "iDOT":
		return true
	}
	return false
}

// pngStripper copies the chunks of a PNG up to IEND, except those in pngDropped.
type pngStripper struct {
	in       *input
	state    pngState
	exifLeft int64 // bytes of the eXIf chunk after the prefix gathered, with its CRC
	sawEXIF  bool
}

func (p *pngStripper) start() {
	p.state = pngWantSignature
	p.in.need(len(imageformat.PNGSignature))
}

func (p *pngStripper) scan([]byte) (int, error) { return 0, errInternal }

func (p *pngStripper) step(b []byte) error {
	switch p.state {
	case pngWantSignature:
		if string(b) != string(imageformat.PNGSignature) {
			return corrupt("png", "bad signature")
		}
		if err := p.in.write(b); err != nil {
			return err
		}
	case pngWantChunk:
		return p.chunk(b)
	case pngWantEXIF:
		if o := orientation(b); keepsOrientation(o) {
			if err := p.writeChunk("eXIf", orientationTIFF(o)); err != nil {
				return err
			}
		}
		p.state = pngChunkDone
		p.in.skip(p.exifLeft)
		return nil
	case pngIENDDone:
		p.in.discard()
		return nil
	}
	p.state = pngWantChunk
	p.in.need(8)
	return nil
}

// chunk decides what to do with the chunk whose length and type are b.
func (p *pngStripper) chunk(b []byte) error {
	length := int64(binary.BigEndian.Uint32(b[:4]))
	if length > 1<<31-1 {
		return corrupt("png", "bad chunk length")
	}
	typ := string(b[4:8])
	rest := length + 4 // the data and the CRC
	switch {
	case typ == "IEND":
		p.state = pngIENDDone
	case typ == "eXIf" && !p.sawEXIF:
		p.sawEXIF = true
		n := min(length, maxNeed)
		p.state, p.exifLeft = pngWantEXIF, rest-n
		p.in.need(int(n))
		return nil
	case pngDropped(typ):
		p.state = pngChunkDone
		p.in.skip(rest)
		return nil
	default:
		p.state = pngChunkDone
	}
	if err := p.in.write(b); err != nil {
		return err
	}
	p.in.copy(rest)
	return nil
}

// writeChunk writes a chunk with its length and CRC.
func (p *pngStripper) writeChunk(typ string, data []byte) error {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
	return p.in.write(b)
}
