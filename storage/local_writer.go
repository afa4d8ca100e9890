package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sync"
)

// errWriterClosed is returned by a Writer used after Commit or Abort.
var errWriterClosed = fmt.Errorf("storage: writer already committed or aborted: %w", fs.ErrClosed)

// NewWriter implements Store. The bytes go to a file with a random name in
// the directory ".tmp" of the root.
func (l *Local) NewWriter(ctx context.Context) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := path.Join(tmpDir, rand.Text())
	f, err := l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, fmt.Errorf("storage: new writer: %w", err)
	}
	return &localWriter{root: l.root, name: name, f: f}, nil
}

// localWriter writes a temporary file and renames it into place on Commit.
type localWriter struct {
	root *os.Root
	name string // temporary file, relative to root

	mu   sync.Mutex
	f    *os.File // nil after Commit or Abort
	n    int64    // bytes written
	werr error    // first write error
}

func (w *localWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, errWriterClosed
	}
	if w.werr != nil {
		return 0, w.werr
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		w.werr = fmt.Errorf("storage: write: %w", err)
		return n, w.werr
	}
	return n, nil
}

func (w *localWriter) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	return w.discard()
}

// discard closes and removes the temporary file. w.mu must be held.
func (w *localWriter) discard() error {
	w.f.Close()
	w.f = nil
	if err := w.root.Remove(w.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: abort: %w", err)
	}
	return nil
}

// Commit fsyncs the temporary file and renames it to key, creating the
// parent directories, then fsyncs the directories whose entries changed.
// If a regular file of the same size already exists under key, it is kept
// and the temporary file is removed instead. If only the final directory
// fsync fails, Commit returns an error although the (complete, fsynced)
// object is already visible: the rename cannot be undone without racing
// with concurrent commits of the same key.
func (w *localWriter) Commit(ctx context.Context, key string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return errWriterClosed
	}
	if err := w.commit(ctx, key); err != nil {
		if w.f != nil {
			w.discard()
		} else {
			w.root.Remove(w.name)
		}
		return err
	}
	return nil
}

// commit does the work of Commit. On success the temporary file is gone and
// w.f is nil; on failure the caller removes the temporary file.
func (w *localWriter) commit(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if w.werr != nil {
		return w.werr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("storage: commit %q: %w", key, err)
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("storage: commit %q: %w", key, err)
	}

	dir := path.Dir(key) // "." for a top-level key
	if fi, err := w.root.Lstat(key); err == nil && fi.Mode().IsRegular() && fi.Size() == w.n {
		// Same key, same size: by content addressing, the same object.
		// Its committer may still be syncing the directory, so sync too.
		if err := w.root.Remove(w.name); err != nil {
			return fmt.Errorf("storage: commit %q: %w", key, err)
		}
		return w.syncDir(key, dir)
	}

	// Directories that do not exist yet must be synced, as well as their
	// parents, once they are created.
	created := false
	if _, err := w.root.Lstat(dir); err != nil {
		if !isNotFound(err) {
			return fmt.Errorf("storage: commit %q: %w", key, err)
		}
		if err := w.root.MkdirAll(dir, dirPerm); err != nil {
			return fmt.Errorf("storage: commit %q: %w", key, err)
		}
		created = true
	}
	if err := w.root.Rename(w.name, key); err != nil {
		return fmt.Errorf("storage: commit %q: %w", key, err)
	}
	// The object is published: from here on, errors only concern the
	// durability of the directory entries.
	for {
		if err := w.syncDir(key, dir); err != nil || !created || dir == "." {
			return err
		}
		dir = path.Dir(dir)
	}
}

// syncDir fsyncs the directory dir of the root, on behalf of committing key.
func (w *localWriter) syncDir(key, dir string) error {
	d, err := w.root.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: commit %q: sync directory: %w", key, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: commit %q: sync directory: %w", key, err)
	}
	return nil
}
