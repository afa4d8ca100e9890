package localfs

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Check implements storage.Checker: the store's directory must still be the one New opened,
// at the path it was opened at (not removed, renamed or replaced since; a Store would go on
// writing into a directory that nobody reads any more), and its temporary-file directory
// must be a directory, or no object could be written.
func (l *Store) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	opened, err := l.root.Stat(".")
	if err != nil {
		return fmt.Errorf("storage: the directory %s: %w", l.dir, err)
	}
	atPath, err := os.Stat(l.dir)
	if err != nil {
		return fmt.Errorf("storage: the directory %s: %w", l.dir, err)
	}
	if !os.SameFile(opened, atPath) {
		return fmt.Errorf("storage: %s is no longer the directory this store opened (removed, renamed or replaced)", l.dir)
	}
	tmp, err := l.root.Stat(tmpDir)
	if err != nil {
		return fmt.Errorf("storage: the temporary directory of %s: %w", l.dir, err)
	}
	if !tmp.IsDir() {
		return errors.New("storage: the temporary directory of " + l.dir + " is not a directory")
	}
	return nil
}
