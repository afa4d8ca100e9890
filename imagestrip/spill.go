package imagestrip

import (
	"bytes"
	"fmt"
	"io"
)

// File is a temporary file in which a Writer keeps what it must hold back. Close must
// release it entirely (remove it from the disk).
type File interface {
	io.ReadWriteSeeker
	io.Closer
}

// memoryMax is how many bytes of an extended WebP's kept chunks a Writer holds in memory
// before it moves them to a temporary file.
const memoryMax = 256 << 10

// spill holds the bytes written to it: in memory up to max bytes, then all of them in a
// temporary file made by newFile, or in memory whatever their size if newFile is nil.
type spill struct {
	max     int
	newFile func() (File, error)
	mem     bytes.Buffer
	f       File
	n       int64 // bytes written
}

func (s *spill) Write(p []byte) (int, error) {
	if s.f == nil && (s.newFile == nil || s.mem.Len()+len(p) <= s.max) {
		s.n += int64(len(p))
		return s.mem.Write(p)
	}
	if s.f == nil {
		f, err := s.newFile()
		if err != nil {
			return 0, fmt.Errorf("imagestrip: creating a temporary file: %w", err)
		}
		s.f = f
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			return 0, fmt.Errorf("imagestrip: writing a temporary file: %w", err)
		}
		s.mem = bytes.Buffer{}
	}
	n, err := s.f.Write(p)
	s.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("imagestrip: writing a temporary file: %w", err)
	}
	return n, nil
}

// writeTo writes everything written so far to w, through buf when it comes from the file.
func (s *spill) writeTo(w io.Writer, buf []byte) error {
	if s.f == nil {
		if _, err := w.Write(s.mem.Bytes()); err != nil {
			return writeError(err)
		}
		return nil
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("imagestrip: reading a temporary file: %w", err)
	}
	for left := s.n; left > 0; {
		k, err := io.ReadFull(s.f, buf[:min(int64(len(buf)), left)])
		if err != nil {
			return fmt.Errorf("imagestrip: reading a temporary file: %w", err)
		}
		if _, err := w.Write(buf[:k]); err != nil {
			return writeError(err)
		}
		left -= int64(k)
	}
	return nil
}

// release drops the bytes held and closes the file, if any.
func (s *spill) release() error {
	s.mem = bytes.Buffer{}
	s.n = 0
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("imagestrip: closing a temporary file: %w", err)
	}
	return nil
}
