package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// errWriterClosed is returned by a Writer used after Commit or Abort.
var errWriterClosed = fmt.Errorf("storage: writer already committed or aborted: %w", fs.ErrClosed)

// Spool is the temporary file of a Writer that keeps an object's bytes on disk until it is
// committed: the part that file-backed backends (localfs, s3store) share. Write, Abort and Commit
// are serialised, the first write error sticks, and after Commit or Abort the file is closed
// and removed and every method but Abort fails with an error wrapping fs.ErrClosed.
type Spool struct {
	mu     sync.Mutex
	f      *os.File // nil after Commit or Abort
	n      int64    // bytes written
	werr   error    // first write error
	remove func() error
}

// NewSpool returns a Spool writing to f. remove deletes the file once it is closed; it is
// called once the spool is done with, and a file that no longer exists (renamed into place,
// or unlinked at creation) is not an error.
func NewSpool(f *os.File, remove func() error) *Spool {
	return &Spool{f: f, remove: remove}
}

// Write appends p to the file.
func (s *Spool) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return 0, errWriterClosed
	}
	if s.werr != nil {
		return 0, s.werr
	}
	n, err := s.f.Write(p)
	s.n += int64(n)
	if err != nil {
		s.werr = fmt.Errorf("storage: write: %w", err)
		return n, s.werr
	}
	return n, nil
}

// Abort closes and removes the file. It is idempotent, and a no-op after Commit.
func (s *Spool) Abort() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	return s.done()
}

// Commit checks key, the writes and ctx, then calls publish with the file and the number of
// bytes written, to make them visible under key; publish may close the file. Whatever
// publish returns, the spool is then closed and its file removed. A failure to remove the
// file after a successful publish is reported, although the object is published.
func (s *Spool) Commit(ctx context.Context, key string, publish func(f *os.File, size int64) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errWriterClosed
	}
	err := ValidateKey(key)
	if err == nil {
		err = s.werr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = publish(s.f, s.n)
	}
	if derr := s.done(); err == nil {
		err = derr
	}
	return err
}

// done closes and removes the file. s.mu must be held.
func (s *Spool) done() error {
	s.f.Close() // publish may have closed it already
	s.f = nil
	if err := s.remove(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: removing the temporary file: %w", err)
	}
	return nil
}
