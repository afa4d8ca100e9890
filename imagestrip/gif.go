package imagestrip

import "github.com/vitrine-dev/vitrine/internal/imageformat"

// gifState is what the GIF stripper is waiting for.
type gifState int

const (
	gifWantScreen     gifState = iota // the header and logical screen descriptor
	gifTableDone                      // the end of a colour table
	gifWantBlock                      // the byte that introduces a block
	gifWantLabel                      // an extension's label
	gifWantAppIDSize                  // the size of an application extension's first sub-block
	gifWantAppID                      // that sub-block: the application's identifier
	gifWantDescriptor                 // the rest of an image descriptor
	gifLocalTableDone                 // the end of a local colour table
	gifWantLZWSize                    // the LZW minimum code size
	gifWantSubBlock                   // a sub-block's size
	gifSubBlockDone                   // the end of a sub-block
)

// gifStripper copies the blocks of a GIF up to the trailer, except comment extensions and
// the application extensions that gifKeepApp refuses.
type gifStripper struct {
	in        *input
	state     gifState
	keep      bool // the sub-blocks being read are copied
	appIDSize byte
}

// gifKeepApp reports whether an application extension is kept: the loop count of
// animations, and the ICC profile.
func gifKeepApp(id []byte) bool {
	switch string(id) {
	case "NETSCAPE2.0", "ANIMEXTS1.0", imageformat.GIFICCApplication:
		return true
	}
	return false
}

func (g *gifStripper) start() {
	g.state = gifWantScreen
	g.in.need(13)
}

func (g *gifStripper) scan([]byte) (int, error) { return 0, errInternal }

func (g *gifStripper) step(b []byte) error {
	switch g.state {
	case gifWantScreen:
		if err := g.in.write(b); err != nil {
			return err
		}
		g.state = gifTableDone
		g.in.copy(gifTableSize(b[10]))
	case gifTableDone:
		g.state = gifWantBlock
		g.in.need(1)
	case gifWantBlock:
		return g.block(b[0])
	case gifWantLabel:
		switch label := b[0]; label {
		case 0xfe: // comment
			g.subBlocks(false)
		case 0xff: // application
			g.state = gifWantAppIDSize
			g.in.need(1)
		default: // graphic control, plain text
			if err := g.in.emit(0x21, label); err != nil {
				return err
			}
			g.subBlocks(true)
		}
	case gifWantAppIDSize:
		g.appIDSize = b[0]
		if g.appIDSize == 0 {
			// An application extension without data: dropped.
			g.state = gifWantBlock
			g.in.need(1)
			return nil
		}
		g.state = gifWantAppID
		g.in.need(int(g.appIDSize))
	case gifWantAppID:
		keep := gifKeepApp(b)
		if keep {
			if err := g.in.emit(0x21, 0xff, g.appIDSize); err != nil {
				return err
			}
			if err := g.in.write(b); err != nil {
				return err
			}
		}
		g.subBlocks(keep)
	case gifWantDescriptor:
		if err := g.in.write(b); err != nil {
			return err
		}
		g.state = gifLocalTableDone
		g.in.copy(gifTableSize(b[8]))
	case gifLocalTableDone:
		g.state = gifWantLZWSize
		g.in.need(1)
	case gifWantLZWSize:
		if err := g.in.write(b); err != nil {
			return err
		}
		g.subBlocks(true)
	case gifWantSubBlock:
		if g.keep {
			if err := g.in.write(b); err != nil {
				return err
			}
		}
		if b[0] == 0 { // block terminator
			g.state = gifWantBlock
			g.in.need(1)
			return nil
		}
		g.state = gifSubBlockDone
		if g.keep {
			g.in.copy(int64(b[0]))
		} else {
			g.in.skip(int64(b[0]))
		}
	case gifSubBlockDone:
		g.state = gifWantSubBlock
		g.in.need(1)
	}
	return nil
}

// block handles the byte c that introduces a block.
func (g *gifStripper) block(c byte) error {
	switch c {
	case 0x21: // extension: written once its label and identifier are known
		g.state = gifWantLabel
		g.in.need(1)
		return nil
	case 0x2c: // image descriptor
		g.state = gifWantDescriptor
		g.in.need(9)
	case 0x3b: // trailer
		g.in.discard()
	default:
		return corrupt("gif", "unknown block type")
	}
	return g.in.emit(c)
}

// subBlocks reads data sub-blocks up to the block terminator, copying them if keep.
func (g *gifStripper) subBlocks(keep bool) {
	g.keep = keep
	g.state = gifWantSubBlock
	g.in.need(1)
}

// gifTableSize returns the size of the colour table announced by the packed flags of a
// logical screen or image descriptor.
func gifTableSize(flags byte) int64 {
	if flags&0x80 == 0 {
		return 0
	}
	return 3 << (flags&7 + 1)
}
