package imagestrip

import (
	"errors"
	"io"
)

// stripper is the rewriter of one format. It is a state machine driven by input: it asks for
// its next piece of input with one of input's need, copy, skip, scan and discard methods,
// and input calls step when that piece is complete.
type stripper interface {
	// start asks for the first piece of input.
	start()
	// step is called when the piece asked for is complete: with the bytes gathered after
	// need (valid only during the call), with nil after copy and skip. It must ask for the
	// next piece or return an error.
	step(b []byte) error
	// scan is given the input while the stripper has asked for scan. It consumes a prefix
	// of p, at least one byte, and returns its length; it asks for another kind of piece
	// when it reaches the end of what it scans.
	scan(p []byte) (int, error)
}

// op is a kind of piece of input.
type op int

const (
	opNeed    op = iota // gather n bytes, then call step with them
	opCopy              // write the next left bytes to out, then call step
	opSkip              // drop the next left bytes, then call step
	opScan              // hand the input to scan
	opDiscard           // drop all remaining input: the image has ended
)

// maxNeed is the most bytes that a stripper may gather at once: a JPEG segment, or the
// prefix of an EXIF block that is searched for the orientation.
const maxNeed = 1 << 16

// input turns the bytes pushed by Writer.Write into the pieces that a stripper asks for,
// holding at most maxNeed bytes.
type input struct {
	f   stripper
	dst io.Writer // the destination
	out io.Writer // where emit and copied bytes go: dst, or a buffer for WebP
	off int64     // bytes consumed, from the start of the input

	op   op
	n    int    // opNeed: the number of bytes wanted
	got  []byte // opNeed: the bytes gathered so far, if they came in more than one Write
	left int64  // opCopy, opSkip: bytes left
}

// need asks for n bytes, at most maxNeed.
func (in *input) need(n int) { in.op, in.n = opNeed, n }

func (in *input) copy(n int64) { in.op, in.left = opCopy, n }
func (in *input) skip(n int64) { in.op, in.left = opSkip, n }
func (in *input) scan()        { in.op = opScan }
func (in *input) discard()     { in.op = opDiscard }

// emit writes b to the output.
func (in *input) emit(b ...byte) error { return in.write(b) }

// write writes b to the output.
func (in *input) write(b []byte) error {
	if _, err := in.out.Write(b); err != nil {
		return writeError(err)
	}
	return nil
}

// feed consumes p, calling the stripper for every piece completed.
func (in *input) feed(p []byte) error {
	for {
		switch in.op {
		case opNeed:
			if in.n < 0 || in.n > maxNeed {
				return errInternal // each stripper bounds what it asks for
			}
			var b []byte
			switch {
			case len(in.got) == 0 && len(p) >= in.n:
				b, p = p[:in.n], p[in.n:]
			case len(p) == 0 && len(in.got) < in.n:
				return nil
			default:
				k := min(in.n-len(in.got), len(p))
				in.got = append(in.got, p[:k]...)
				p = p[k:]
				if len(in.got) < in.n {
					return nil
				}
				b, in.got = in.got, in.got[:0]
			}
			in.off += int64(len(b))
			if err := in.f.step(b); err != nil {
				return err
			}
		case opCopy, opSkip:
			if in.left > 0 {
				if len(p) == 0 {
					return nil
				}
				k := int(min(in.left, int64(len(p))))
				if in.op == opCopy {
					if err := in.write(p[:k]); err != nil {
						return err
					}
				}
				p = p[k:]
				in.left -= int64(k)
				in.off += int64(k)
				if in.left > 0 {
					return nil
				}
			}
			if err := in.f.step(nil); err != nil {
				return err
			}
		case opScan:
			if len(p) == 0 {
				return nil
			}
			k, err := in.f.scan(p)
			if err != nil {
				return err
			}
			if k <= 0 || k > len(p) {
				return errInternal // scan must make progress
			}
			in.off += int64(k)
			p = p[k:]
		case opDiscard:
			in.off += int64(len(p))
			return nil
		}
	}
}

// errInternal reports a bug in a stripper rather than in the input.
var errInternal = errors.New("imagestrip: internal error")
