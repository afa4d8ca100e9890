package imageinfo

import (
	"bufio"
	"errors"
	"fmt"
	"hash"
	"io"
)

// source is the buffered input shared by the format parsers. It counts the
// bytes consumed, turns a premature end of input into ErrCorrupt, and enforces
// the pixel limit and the bound on where the dimensions must appear.
type source struct {
	br        *bufio.Reader
	th        *throttle
	off       int64 // bytes consumed so far, from the start of the input
	name      string
	maxPixels int64
	info      Info
	dimsKnown bool
}

// corrupt returns an error wrapping ErrCorrupt with a short reason.
func (s *source) corrupt(reason string) error {
	return fmt.Errorf("%s: %s: %w", s.name, reason, ErrCorrupt)
}

// fail converts an error from the buffered reader: the end of input becomes
// ErrCorrupt (the image is truncated), anything else came from the caller's
// reader and is passed on.
func (s *source) fail(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return s.corrupt("unexpected end of data")
	}
	return readError(err)
}

// advance records that n bytes were consumed and checks that the dimensions
// have not been missing for too long.
func (s *source) advance(n int) error {
	s.off += int64(n)
	if !s.dimsKnown && s.off > headerLimit {
		return s.corrupt("no dimensions within the first MiB")
	}
	return nil
}

// full reads exactly len(b) bytes.
func (s *source) full(b []byte) error {
	n, err := io.ReadFull(s.br, b)
	if err != nil {
		return s.fail(err)
	}
	return s.advance(n)
}

// byte reads one byte.
func (s *source) byte() (byte, error) {
	c, err := s.br.ReadByte()
	if err != nil {
		return 0, s.fail(err)
	}
	return c, s.advance(1)
}

// skip consumes n bytes. If h is not nil, the bytes are written to it.
func (s *source) skip(n int64, h hash.Hash) error {
	if !s.dimsKnown && s.off+n > headerLimit {
		return s.corrupt("no dimensions within the first MiB")
	}
	for n > 0 {
		b, err := s.buffered()
		if err != nil {
			return err
		}
		if int64(len(b)) > n {
			b = b[:n]
		}
		if h != nil {
			h.Write(b)
		}
		k, _ := s.br.Discard(len(b)) // cannot fail: the bytes are buffered
		n -= int64(k)
		if err := s.advance(k); err != nil {
			return err
		}
	}
	return nil
}

// buffered returns the bytes that are buffered, reading more if there are
// none. The bytes stay unconsumed.
func (s *source) buffered() ([]byte, error) {
	if s.br.Buffered() == 0 {
		if _, err := s.br.Peek(1); err != nil {
			return nil, s.fail(err)
		}
	}
	b, _ := s.br.Peek(s.br.Buffered())
	return b, nil
}

// setDims records the dimensions declared by the header and checks them
// against the pixel limit. Once they are accepted, reads from the caller's
// reader are no longer capped.
func (s *source) setDims(w, h int64) error {
	if w <= 0 || h <= 0 {
		return s.corrupt("zero width or height")
	}
	if err := s.checkPixels(w, h); err != nil {
		return err
	}
	s.info.Width, s.info.Height = int(w), int(h)
	s.dimsKnown = true
	s.th.limit = 0
	return nil
}

// checkPixels returns an error wrapping ErrTooManyPixels if a w×h image is
// larger than allowed. The parsers pass w and h below 2^31, so w*h cannot
// overflow.
func (s *source) checkPixels(w, h int64) error {
	if w*h > s.maxPixels {
		return fmt.Errorf("%s: %dx%d exceeds the pixel limit: %w", s.name, w, h, ErrTooManyPixels)
	}
	return nil
}

// tooManyFrames returns an error wrapping ErrTooManyPixels for an animation
// with more than maxFrames frames.
func (s *source) tooManyFrames() error {
	return fmt.Errorf("%s: more than %d frames: %w", s.name, maxFrames, ErrTooManyPixels)
}

// drain consumes the rest of the input after the end of the image.
func (s *source) drain() error {
	n, err := io.Copy(io.Discard, s.br)
	s.off += n
	if err != nil {
		return readError(err)
	}
	return nil
}
