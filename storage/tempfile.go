package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// TempFile is a temporary file without a name: CreateTemp unlinks it as soon as it is
// created, so it disappears when it is closed and a crash leaves nothing behind to clean up.
// Where open files cannot be unlinked, it keeps its name until Close or Remove.
type TempFile struct {
	*os.File
	name string // "" once unlinked
}

// CreateTemp creates a TempFile in dir (os.TempDir() when empty), with a name made from
// pattern as os.CreateTemp does.
func CreateTemp(dir, pattern string) (*TempFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	t := &TempFile{File: f, name: f.Name()}
	if err := os.Remove(t.name); err == nil {
		t.name = "" // unlinked already
	}
	return t, nil
}

// Remove removes the file's name, if it still has one; the file's bytes go when it is closed.
func (t *TempFile) Remove() error {
	if t.name == "" {
		return nil
	}
	err := os.Remove(t.name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: removing the temporary file: %w", err)
	}
	t.name = ""
	return nil
}

// Close closes and removes the file.
func (t *TempFile) Close() error {
	err := t.File.Close()
	if rerr := t.Remove(); err == nil {
		err = rerr
	}
	return err
}
