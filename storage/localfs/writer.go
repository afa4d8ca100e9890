package localfs

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path"

	"github.com/vitrine-dev/vitrine/storage"
)

// NewWriter implements storage.Store. The bytes go to a file with a random name in
// the directory ".tmp" of the root.
func (l *Store) NewWriter(ctx context.Context) (storage.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := path.Join(tmpDir, rand.Text())
	f, err := l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, fmt.Errorf("storage: new writer: %w", err)
	}
	w := &writer{root: l.root, name: name}
	w.Spool = storage.NewSpool(f, func() error { return l.root.Remove(name) })
	return w, nil
}

// writer writes a temporary file and renames it into place on Commit.
type writer struct {
	*storage.Spool
	root *os.Root
	name string // temporary file, relative to root
}

// Commit fsyncs the temporary file and renames it to key, creating the
// parent directories, then fsyncs the directories whose entries changed.
// If a regular file of the same size already exists under key, it is kept
// and the temporary file is removed instead. If only the final directory
// fsync fails, Commit returns an error although the (complete, fsynced)
// object is already visible: the rename cannot be undone without racing
// with concurrent commits of the same key.
func (w *writer) Commit(ctx context.Context, key string) error {
	return w.Spool.Commit(ctx, key, func(f *os.File, size int64) error { return w.publish(key, f, size) })
}

// publish does the work of Commit; the spool removes the temporary file afterwards, if it
// is still there.
func (w *writer) publish(key string, f *os.File, size int64) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storage: commit %q: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("storage: commit %q: %w", key, err)
	}

	dir := path.Dir(key) // "." for a top-level key
	if fi, err := w.root.Lstat(key); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
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
func (w *writer) syncDir(key, dir string) error {
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
