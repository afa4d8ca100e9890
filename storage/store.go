// Package storage stores immutable objects, such as original images and
// thumbnails, under content-addressed keys.
//
// This package holds the Store interface and what its implementations and
// callers share (keys, spooled writers, Put, DeleteAll). It is implemented by
// package localfs (a directory on disk) and by package s3store (an
// S3-compatible bucket), which also implements Presigner. Every
// implementation must pass the conformance suite in package storagetest.
package storage

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// Store is an object store keyed by strings such as
// "originals/ab/abcdef...0123.jpg". Keys must satisfy ValidateKey.
//
// Objects are written once and never modified: because keys are content
// hashes, a key always names the same bytes. All methods are safe for
// concurrent use.
type Store interface {
	// NewWriter starts a new object whose key is not yet known. Bytes
	// written go to a temporary place that no reader or List can see.
	// Commit makes them visible atomically under key; Abort (or a Commit
	// that fails) leaves nothing behind.
	NewWriter(ctx context.Context) (Writer, error)

	// Open returns a reader for length bytes starting at offset (a
	// negative length means up to the end) together with the object's
	// info, whose Size is the size of the whole object. A length that
	// reaches past the end is shortened to the end. An offset equal to
	// the size is valid and yields an empty reader, so that empty objects
	// can be opened; a negative offset or an offset beyond the size
	// returns an error wrapping ErrInvalidRange. A missing key returns an
	// error wrapping ErrNotFound. The caller must close the reader.
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, ObjectInfo, error)

	// Stat returns the info of the object stored under key, or an error
	// wrapping ErrNotFound if there is none.
	Stat(ctx context.Context, key string) (ObjectInfo, error)

	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// List yields the objects whose keys start with prefix, in ascending
	// byte order of key, starting strictly after the key after ("" means
	// from the start). It streams: memory use does not grow with the
	// number of objects listed. The prefix may end in the middle of a
	// segment (for example "originals/a"); an invalid prefix yields an
	// error wrapping ErrInvalidKey. after is only compared with keys and
	// may be any string. On error List yields a zero ObjectInfo and the
	// error, then stops.
	List(ctx context.Context, prefix, after string) iter.Seq2[ObjectInfo, error]
}

// Writer receives the bytes of a new object. It is not meant for
// concurrent writes, but Abort may be called at any time.
type Writer interface {
	io.Writer

	// Commit makes the written bytes durable and publishes them under key.
	// If key already exists (with the same content, since keys are
	// content hashes) Commit succeeds and keeps one copy. If Commit fails
	// the writer is aborted and nothing is published. After Commit or
	// Abort the Writer is unusable: Write and Commit return an error
	// wrapping fs.ErrClosed.
	Commit(ctx context.Context, key string) error

	// Abort discards the written bytes. It is idempotent, and it is a
	// no-op after Commit.
	Abort() error
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	// Key is the object's key.
	Key string
	// Size is the size of the whole object in bytes.
	Size int64
	// ModTime is the time the object was written, as recorded by the
	// backend.
	ModTime time.Time
	// ETag is a strong HTTP entity tag, including its double quotes. It
	// is stable for a given object: Stat, Open and List report the same
	// value. Its derivation is backend-specific; clients must treat it as
	// opaque.
	ETag string
}

var (
	// ErrNotFound is wrapped by the errors returned for missing objects.
	ErrNotFound = errors.New("storage: object not found")
	// ErrInvalidKey is wrapped by the errors returned for keys and
	// prefixes that ValidateKey refuses.
	ErrInvalidKey = errors.New("storage: invalid key")
	// ErrInvalidRange is wrapped by the errors returned by Open for
	// offsets that do not lie within the object.
	ErrInvalidRange = errors.New("storage: invalid range")
)

// BatchDeleter is implemented by stores that delete many objects in one request (S3's
// DeleteObjects). DeleteBatch deletes keys, at most MaxBatchDelete of them; missing keys
// are not an error, and an error means that some keys may not have been deleted.
type BatchDeleter interface {
	DeleteBatch(ctx context.Context, keys []string) error
}

// MaxBatchDelete is the most keys one DeleteBatch call takes (S3's limit).
const MaxBatchDelete = 1000

// DeleteAll deletes keys from s: through DeleteBatch, MaxBatchDelete keys at a time, when s
// is a BatchDeleter, else one Delete at a time. Missing keys are not an error.
func DeleteAll(ctx context.Context, s Store, keys []string) error {
	if b, ok := s.(BatchDeleter); ok {
		for start := 0; start < len(keys); start += MaxBatchDelete {
			if err := b.DeleteBatch(ctx, keys[start:min(start+MaxBatchDelete, len(keys))]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, k := range keys {
		if err := s.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// Put stores data under key in s: it writes data to a new writer of s and commits it. It
// returns the first error of NewWriter, Write or Commit, unwrapped, so that the caller can
// say what it was storing; on any error nothing is stored under key by this call (the writer
// is aborted).
func Put(ctx context.Context, s Store, key string, data []byte) error {
	w, err := s.NewWriter(ctx)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	return w.Commit(ctx, key)
}
