// Package localfs is a storage.Store kept in a directory of the local file system: the
// object store of a single machine, and of the quickstart (<data-dir>/objects).
package localfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"syscall"
	"time"

	"github.com/vitrine-dev/vitrine/storage"
)

const (
	// tmpDir is the directory, inside the root, that holds the files of
	// uncommitted writers. Keys cannot start with '.', so it can never be
	// reached through a key.
	tmpDir = ".tmp"

	filePerm = 0o644
	dirPerm  = 0o755
)

// Store is a storage.Store keeping objects as files in a local directory. A key maps
// directly to the relative path of its file (key "originals/ab/x.jpg" is the
// file dir/originals/ab/x.jpg).
//
// Every file access goes through an os.Root opened on the directory, so no
// key, symbolic link or concurrent rename can make a Store touch anything
// outside of it. A Store never creates symbolic links; List skips any it
// finds, while Open and Stat follow those that stay inside the directory.
//
// The ETag of an object is the first 128 bits of the SHA-256 of its key and
// size, in hexadecimal and double-quoted. Because keys are content hashes,
// it identifies the content, and it survives copies and restores of the
// directory (unlike one derived from the modification time).
//
// Deleting an object leaves its parent directories in place, even when
// they become empty: removing them could race with a concurrent Commit
// re-using the directory. List ignores empty directories.
type Store struct {
	root *os.Root
	dir  string // the path root was opened at
}

var _ storage.Store = (*Store)(nil)

// New returns a Store storing objects under dir, creating dir and its
// temporary-file directory if needed. Call Close to release the directory.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if err := root.Mkdir(tmpDir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		root.Close()
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &Store{root: root, dir: dir}, nil
}

// Close releases the directory. The Store must not be used afterwards.
func (l *Store) Close() error {
	return l.root.Close()
}

// Open implements storage.Store.
func (l *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	f, err := l.root.Open(key)
	if err != nil {
		return nil, storage.ObjectInfo{}, mapNotFound("open", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, storage.ObjectInfo{}, fmt.Errorf("storage: open %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, storage.ObjectInfo{}, fmt.Errorf("storage: open %q: %w", key, storage.ErrNotFound)
	}
	info := objectInfo(key, fi)
	if offset < 0 || offset > info.Size {
		f.Close()
		return nil, storage.ObjectInfo{}, fmt.Errorf("storage: open %q: %w: offset %d, size %d", key, storage.ErrInvalidRange, offset, info.Size)
	}
	if length < 0 || length > info.Size-offset {
		length = info.Size - offset
	}
	return &sectionReadCloser{io.NewSectionReader(f, offset, length), f}, info, nil
}

// sectionReadCloser reads a section of a file and closes the file.
type sectionReadCloser struct {
	*io.SectionReader
	f *os.File
}

func (r *sectionReadCloser) Close() error { return r.f.Close() }

// Stat implements storage.Store.
func (l *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	fi, err := l.root.Stat(key)
	if err != nil {
		return storage.ObjectInfo{}, mapNotFound("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return storage.ObjectInfo{}, fmt.Errorf("storage: stat %q: %w", key, storage.ErrNotFound)
	}
	return objectInfo(key, fi), nil
}

// Delete implements storage.Store. A key naming a directory (a prefix of other
// keys) is not an object, so deleting it is a no-op.
func (l *Store) Delete(ctx context.Context, key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := l.root.Lstat(key)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("storage: delete %q: %w", key, err)
	}
	if fi.IsDir() {
		return nil
	}
	if err := l.root.Remove(key); err != nil && !isNotFound(err) {
		return fmt.Errorf("storage: delete %q: %w", key, err)
	}
	return nil
}

// CleanTemp removes the temporary files of writers that have been neither
// committed nor aborted and have not been written to for olderThan. It
// returns how many files it removed. It is meant to be called at start-up,
// or periodically with an olderThan much longer than any upload.
func (l *Store) CleanTemp(olderThan time.Duration) (int, error) {
	d, err := l.root.Open(tmpDir)
	if err != nil {
		return 0, fmt.Errorf("storage: clean temp: %w", err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return 0, fmt.Errorf("storage: clean temp: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := l.root.Remove(path.Join(tmpDir, e.Name())); err != nil {
			if !isNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		n++
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("storage: clean temp: %w", err)
	}
	return n, nil
}

func objectInfo(key string, fi fs.FileInfo) storage.ObjectInfo {
	return storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), ETag: etag(key, fi.Size())}
}

// etag derives the ETag of an object from its key and size; see Store.
func etag(key string, size int64) string {
	h := sha256.New()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, size, 10))
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// isNotFound reports whether err means that a path does not exist, either
// itself or because one of its parents is a file.
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// mapNotFound wraps err for op on key, replacing missing-file errors with
// storage.ErrNotFound.
func mapNotFound(op, key string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("storage: %s %q: %w", op, key, storage.ErrNotFound)
	}
	return fmt.Errorf("storage: %s %q: %w", op, key, err)
}
