package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/storage"
)

// ReadinessCheck is one part of what GET /readyz checks.
type ReadinessCheck struct {
	// Part names the part in a 503's body and in the log: "database", "store", "jobs".
	Part string
	// Check returns nil when the part is ready, else why not (logged, never shown to clients).
	Check func(ctx context.Context) error
}

// readyCacheFor is how long a result of the checks answers /readyz before they run again, and
// readyTimeout the longest one round of them may take: a flood of probes runs the checks at
// most once a second, one round at a time, whatever their number.
const (
	readyCacheFor = time.Second
	readyTimeout  = 3 * time.Second
)

// Readiness answers GET /readyz from its checks. A round runs every check at once, each
// within readyTimeout; its result answers every probe for readyCacheFor; probes arriving
// while a round runs wait for that round rather than start another. It is safe for concurrent
// use; make one with NewReadiness.
type Readiness struct {
	checks []ReadinessCheck
	log    *slog.Logger

	mu      sync.Mutex
	failing []string      // the parts the last round found not ready
	at      time.Time     // when the last round ended; zero before the first
	round   chan struct{} // closed when the running round ends; nil when none runs
}

// NewReadiness returns the readiness of a server made of checks, logging changes to log.
func NewReadiness(log *slog.Logger, checks ...ReadinessCheck) *Readiness {
	return &Readiness{checks: checks, log: log}
}

// Failing returns the parts that are not ready, from a result at most readyCacheFor old,
// running a round of the checks when there is none. It returns ctx's error if ctx ends while
// it waits for a round.
func (r *Readiness) Failing(ctx context.Context) ([]string, error) {
	for {
		r.mu.Lock()
		if !r.at.IsZero() && time.Since(r.at) < readyCacheFor {
			failing := r.failing
			r.mu.Unlock()
			return failing, nil
		}
		if round := r.round; round != nil {
			r.mu.Unlock()
			select {
			case <-round:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		round := make(chan struct{})
		r.round = round
		r.mu.Unlock()
		// The round is not the caller's: a probe that gives up does not cut it short.
		failing := r.run(context.WithoutCancel(ctx))
		r.mu.Lock()
		r.failing, r.at, r.round = failing, time.Now(), nil
		r.mu.Unlock()
		close(round)
		return failing, nil
	}
}

// run runs every check at once and returns the parts that failed, in the checks' order,
// logging when the set of failing parts changes.
func (r *Readiness) run(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	errs := make([]error, len(r.checks))
	var wg sync.WaitGroup
	for i, c := range r.checks {
		wg.Go(func() { errs[i] = c.Check(ctx) })
	}
	wg.Wait()
	var failing []string
	var causes []any
	for i, c := range r.checks {
		if errs[i] != nil {
			failing = append(failing, c.Part)
			causes = append(causes, slog.String(c.Part, errs[i].Error()))
		}
	}
	r.mu.Lock()
	before, first := r.failing, r.at.IsZero()
	r.mu.Unlock()
	switch {
	case len(failing) > 0 && (first || !slices.Equal(before, failing)):
		r.log.Warn("not ready", append([]any{"failing", strings.Join(failing, ",")}, causes...)...)
	case len(failing) == 0 && len(before) > 0:
		r.log.Info("ready again")
	}
	return failing
}

// notReadyBody is a 503 of /readyz: the error every refusal has, and the parts not ready.
type notReadyBody struct {
	errorBody
	Failing []string `json:"failing"`
}

// serveReady answers GET /readyz: 200 when every part is ready, else 503 naming the parts that
// are not. Without a Readiness, the server has nothing to wait for and is ready.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	var failing []string
	if s.Readiness != nil {
		var err error
		if failing, err = s.Readiness.Failing(r.Context()); err != nil {
			return // the client went away
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	if len(failing) == 0 {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		return
	}
	body := notReadyBody{Failing: failing}
	body.Error.Code = string(gallery.EUNAVAILABLE)
	body.Error.Message = "not ready: " + strings.Join(failing, ", ")
	writeJSON(w, http.StatusServiceUnavailable, body)
}

// Schema is what the database check of /readyz needs: that the database answers, and which
// migrations it lacks.
type Schema interface {
	Ping(ctx context.Context) error
	PendingMigrations(ctx context.Context) ([]string, error)
}

// DatabaseCheck is the "database" part of /readyz: the database answers and has every
// migration of this binary.
func DatabaseCheck(db Schema) ReadinessCheck {
	return ReadinessCheck{Part: "database", Check: func(ctx context.Context) error {
		if err := db.Ping(ctx); err != nil {
			return err
		}
		pending, err := db.PendingMigrations(ctx)
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			return fmt.Errorf("migrations pending: %s", strings.Join(pending, ", "))
		}
		return nil
	}}
}

// StoreCheck is the "store" part of /readyz: the store's own check when it has one
// (storage.Checker), else a HEAD of a reserved key, which must answer "not found" or find it.
func StoreCheck(store storage.Store) ReadinessCheck {
	return ReadinessCheck{Part: "store", Check: func(ctx context.Context) error {
		if c, ok := store.(storage.Checker); ok {
			return c.Check(ctx)
		}
		_, err := store.Stat(ctx, storage.ReservedPrefix+"-readyz")
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return nil
	}}
}
