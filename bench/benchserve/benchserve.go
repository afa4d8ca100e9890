// Package benchserve runs a built `vitrine serve` binary as a child process for the benchmarks
// under bench/, each over a database of its own cloned by pgtest.
package benchserve

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/procstat"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// Server is a running `vitrine serve` child.
type Server struct {
	Base  string // http://127.0.0.1:port
	Owner string // the URL of its database's owner, to read what the server did
	cmd   *exec.Cmd
	logs  bytes.Buffer
	once  sync.Once
}

// Start runs bin's `serve` on a free loopback port over a new database, signing tokens with
// secret, with env added to its environment (after the defaults, so it may override them),
// and waits until it answers /healthz. The server is stopped when tb ends, if not before.
func Start(tb testing.TB, bin, secret string, env ...string) *Server {
	tb.Helper()
	owner := pgtest.NewDB(tb)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Server{Base: "http://" + addr, Owner: owner}
	s.cmd = exec.Command(bin, "serve")
	appURL := pgtest.AppURL(owner)
	if n := os.Getenv("BENCH_POOL_MAX_CONNS"); n != "" {
		appURL += "&pool_max_conns=" + n // pgx's pool size (default: 4, or the CPUs when more)
	}
	s.cmd.Env = append(os.Environ(), "DATABASE_URL="+appURL, "VITRINE_MIGRATE_DATABASE_URL="+owner,
		"VITRINE_DATA_DIR="+tb.TempDir(), "VITRINE_ADDR="+addr, "VITRINE_JWT_SECRET="+secret, "VITRINE_LOG_LEVEL=warn")
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stderr = &s.logs
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if resp, err := http.Get(s.Base + "/healthz"); err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			s.Stop()
			tb.Fatalf("serve did not come up: %s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the server (SIGTERM) and waits for it; later calls do nothing.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
	})
}

// CPUTime is the CPU time (user and system) the server has used so far.
func (s *Server) CPUTime(tb testing.TB) time.Duration {
	d, err := procstat.CPUTime(s.cmd.Process.Pid)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// PeakRSS is the server's VmHWM in bytes.
func (s *Server) PeakRSS(tb testing.TB) int64 {
	n, err := procstat.PeakRSS(s.cmd.Process.Pid)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
