package storagetest

import (
	"context"
	"errors"
	"sync"

	"github.com/vitrine-dev/vitrine/storage"
)

// ErrInjected is the error a Faulty store returns for the failures it injects.
var ErrInjected = errors.New("injected storage failure")

// Faulty wraps a store and fails the next FailCommits commits with ErrInjected, as a store
// that is briefly unavailable would. BeforeCommit, when set, runs before every commit (after
// the injected failures), for tests that need to hold a writer at that point. It is safe for
// concurrent use.
type Faulty struct {
	storage.Store
	mu           sync.Mutex
	failCommits  int
	commits      int
	BeforeCommit func(ctx context.Context, key string)
}

// FailNextCommits makes the next n commits fail.
func (f *Faulty) FailNextCommits(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failCommits = n
}

// Commits is how many commits succeeded.
func (f *Faulty) Commits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commits
}

// NewWriter returns a writer whose Commit may fail as configured.
func (f *Faulty) NewWriter(ctx context.Context) (storage.Writer, error) {
	w, err := f.Store.NewWriter(ctx)
	if err != nil {
		return nil, err
	}
	return &faultyWriter{Writer: w, f: f}, nil
}

type faultyWriter struct {
	storage.Writer
	f *Faulty
}

func (w *faultyWriter) Commit(ctx context.Context, key string) error {
	w.f.mu.Lock()
	fail := w.f.failCommits > 0
	if fail {
		w.f.failCommits--
	}
	hook := w.f.BeforeCommit
	w.f.mu.Unlock()
	if fail {
		_ = w.Writer.Abort()
		return ErrInjected
	}
	if hook != nil {
		hook(ctx, key)
	}
	if err := w.Writer.Commit(ctx, key); err != nil {
		return err
	}
	w.f.mu.Lock()
	w.f.commits++
	w.f.mu.Unlock()
	return nil
}
