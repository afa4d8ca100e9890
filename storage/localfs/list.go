package localfs

import (
	"context"
	"fmt"
	"io/fs"
	"iter"
	"slices"
	"sort"
	"strings"

	"github.com/vitrine-dev/vitrine/storage"
)

// List implements storage.Store. It walks the tree depth-first, reading one
// directory at a time, so it holds only the entries of the directories on
// the current path. Directories that cannot hold keys matching prefix or
// following after are not read. Entries that are not regular files or
// directories (such as symbolic links), or whose names cannot be part of a
// key (such as ".tmp"), are skipped.
func (l *Store) List(ctx context.Context, prefix, after string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		if err := storage.ValidatePrefix(prefix); err != nil {
			yield(storage.ObjectInfo{}, err)
			return
		}
		w := &lister{root: l, ctx: ctx, prefix: prefix, after: after, yield: yield}
		// Start from the deepest directory that the prefix names fully.
		w.walk(prefix[:strings.LastIndexByte(prefix, '/')+1])
	}
}

// lister is the state of one List call.
type lister struct {
	root          *Store
	ctx           context.Context
	prefix, after string
	yield         func(storage.ObjectInfo, error) bool
}

// listEntry is a directory entry that may hold matching keys.
type listEntry struct {
	path string // full key of a file; full path plus "/" of a directory
	dir  bool
	info fs.FileInfo
}

// walk lists the directory dir, which is "" for the root or a path ending
// in "/". It returns false when the listing must stop.
func (w *lister) walk(dir string) bool {
	if err := w.ctx.Err(); err != nil {
		w.yield(storage.ObjectInfo{}, err)
		return false
	}
	entries, err := w.read(dir)
	if err != nil {
		w.yield(storage.ObjectInfo{}, fmt.Errorf("storage: list %q: %w", w.prefix, err))
		return false
	}
	// Skip the entries whose keys all come before or at after.
	i := sort.Search(len(entries), func(i int) bool {
		e := entries[i]
		if e.dir {
			return e.path > w.after || strings.HasPrefix(w.after, e.path)
		}
		return e.path > w.after
	})
	for _, e := range entries[i:] {
		if e.dir {
			if !w.walk(e.path) {
				return false
			}
			continue
		}
		info := storage.ObjectInfo{Key: e.path, Size: e.info.Size(), ModTime: e.info.ModTime(), ETag: etag(e.path, e.info.Size())}
		if !w.yield(info, nil) {
			return false
		}
	}
	return true
}

// read returns the entries of dir that may hold keys matching the prefix,
// sorted by the keys they hold. A missing directory has no entries.
func (w *lister) read(dir string) ([]listEntry, error) {
	name := strings.TrimSuffix(dir, "/")
	if name == "" {
		name = "."
	}
	f, err := w.root.root.Open(name)
	if err != nil {
		if isNotFound(err) {
			return nil, nil // deleted meanwhile, or a prefix naming no directory
		}
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		return nil, err
	}
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	entries := make([]listEntry, 0, len(des))
	for _, de := range des {
		if !storage.ValidSegment(de.Name()) {
			continue
		}
		e := listEntry{path: dir + de.Name()}
		switch {
		case de.IsDir():
			// Keys in e.path sort as e.path + "/" + ..., which matters
			// against a sibling file such as "a.b" for directory "a".
			e.dir = true
			e.path += "/"
			if !strings.HasPrefix(e.path, w.prefix) && !strings.HasPrefix(w.prefix, e.path) {
				continue
			}
		case de.Type().IsRegular():
			if !strings.HasPrefix(e.path, w.prefix) || len(e.path) > storage.MaxKeyLen {
				continue
			}
			// Entries of a directory opened through an os.Root carry the
			// FileInfo read (relative to the directory) by ReadDir.
			if e.info, err = de.Info(); err != nil {
				if isNotFound(err) {
					continue
				}
				return nil, err
			}
		default:
			continue
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b listEntry) int { return strings.Compare(a.path, b.path) })
	return entries, nil
}
