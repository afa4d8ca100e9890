package main

import (
	"context"
	"errors"

	"github.com/vitrine-dev/vitrine/httpapi"
)

// readiness is what GET /readyz of `vitrine serve` checks: the database and its migrations,
// the object store, and, when this process works jobs (started by startWorkers before this is
// called), that River's client is still running.
func (a *app) readiness(workers bool) *httpapi.Readiness {
	checks := []httpapi.ReadinessCheck{httpapi.DatabaseCheck(a.db), httpapi.StoreCheck(a.store)}
	if workers {
		stopped := a.jobs.Stopped()
		checks = append(checks, httpapi.ReadinessCheck{Part: "jobs", Check: func(context.Context) error {
			select {
			case <-stopped:
				return errors.New("River's client has stopped: no job is worked in this process")
			default:
				return nil
			}
		}})
	}
	return httpapi.NewReadiness(a.log.With("component", "readiness"), checks...)
}
