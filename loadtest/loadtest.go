// Package loadtest is `vitrine loadtest`: concurrent clients that upload real photographs,
// move, reorder, delete and read galleries through Vitrine's HTTP API for a bounded time, each
// keeping a ledger of what the servers acknowledged; then a check of the gallery invariants
// against the database and the object store (Check). It uses only the API and the exported
// surface of the packages it checks with, so it can run against any deployment it can reach.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Config says what one run does.
type Config struct {
	// URLs are the base URLs of the servers (http://host:port); each client spreads its
	// requests over all of them in turn.
	URLs     []string
	Clients  int           // clients running at once
	Duration time.Duration // how long they send requests
	// Token returns client i's bearer token and the supplier its products belong to. A
	// supplier's token (role authenticated) makes the run exercise row-level security; a
	// service-role token names the supplier in the products it creates.
	Token func(client int) (token string, supplier uuid.UUID, err error)
	// Photos are the images uploaded, in turn; at least one.
	Photos [][]byte
	// ProductsPerClient is how many products each client creates and writes to (default 2).
	// Only that client writes to them, so it knows what each gallery must hold.
	ProductsPerClient int
	// MaxImages bounds a gallery: a client deletes rather than uploads at this size (default 12).
	MaxImages int
	// RequestTimeout bounds one request (default 2 minutes).
	RequestTimeout time.Duration
	// Progress, when set, is called about four times a second with the counts so far.
	Progress func(Snapshot)
}

// Result is what a run did: every request's outcome by route, and the ledger of every
// product it wrote to.
type Result struct {
	Started, Ended time.Time
	Routes         []RouteStats // sorted by route
	Products       []ProductLedger
	// Violations are broken invariants seen while running: a read of a gallery that did not
	// show what its only writer had been acknowledged (a lost write, a resurrected delete, a
	// wrong order).
	Violations []string
}

// Run runs the clients until cfg.Duration has passed or ctx ends, then waits for requests
// under way to finish (each bounded by RequestTimeout). It fails only when the run could not
// start: no products could be created, or cfg is wrong.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	stats := newStats()
	transport := &http.Transport{MaxIdleConnsPerHost: cfg.Clients, MaxConnsPerHost: 4 * cfg.Clients, IdleConnTimeout: 30 * time.Second}
	defer transport.CloseIdleConnections()
	httpc := &http.Client{Transport: transport, Timeout: cfg.RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	clients := make([]*client, cfg.Clients)
	for i := range clients {
		token, supplier, err := cfg.Token(i)
		if err != nil {
			return nil, fmt.Errorf("client %d's token: %w", i, err)
		}
		clients[i] = newClient(i, &cfg, httpc, stats, token, supplier)
	}
	res := &Result{Started: time.Now()}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(runCtx)
		}()
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if cfg.Progress == nil {
			return
		}
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopProgress:
				cfg.Progress(stats.snapshot())
				return
			case <-tick.C:
				cfg.Progress(stats.snapshot())
			}
		}
	}()
	wg.Wait()
	close(stopProgress)
	<-progressDone
	res.Ended = time.Now()
	res.Routes = stats.routes(res.Ended.Sub(res.Started))
	made := 0
	for _, c := range clients {
		for _, p := range c.products {
			res.Products = append(res.Products, p.ledger())
			if p.created {
				made++
			}
		}
		res.Violations = append(res.Violations, c.violations...)
	}
	if made == 0 {
		return res, errors.New("no client could create a product: is the server up, and does the token allow writes? " + stats.firstError())
	}
	return res, nil
}

func (cfg *Config) defaults() error {
	if len(cfg.URLs) == 0 {
		return errors.New("loadtest: no server URL")
	}
	if cfg.Clients < 1 {
		return errors.New("loadtest: at least one client")
	}
	if cfg.Duration <= 0 {
		return errors.New("loadtest: the duration must be positive")
	}
	if len(cfg.Photos) == 0 {
		return errors.New("loadtest: no photographs to upload")
	}
	if cfg.Token == nil {
		return errors.New("loadtest: no token")
	}
	if cfg.ProductsPerClient <= 0 {
		cfg.ProductsPerClient = 2
	}
	if cfg.MaxImages <= 1 {
		cfg.MaxImages = 12
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 2 * time.Minute
	}
	return nil
}
