package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/procstat"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// served is a running `vitrine serve`: in this process (startServe) or as a child process
// (startServeProcess), whose memory and CPU can then be measured alone.
type served struct {
	base, token, dataDir string
	secret               string            // VITRINE_JWT_SECRET, when set: tokens are minted with it
	env                  map[string]string // the server's environment, for commands on its database
	proc                 *os.Process       // the child process, for startServeProcess
	logs                 *lockedWriter
	logBuf               *bytes.Buffer
}

// serveEnv is the environment of a `vitrine serve` on a fresh database, with envs added.
func serveEnv(t testing.TB, envs map[string]string) (*served, map[string]string) {
	t.Helper()
	owner := pgtest.NewDB(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logBuf bytes.Buffer
	s := &served{base: "http://" + addr, dataDir: t.TempDir(), logBuf: &logBuf, logs: &lockedWriter{w: &logBuf}}
	all := map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner, "VITRINE_DATA_DIR": s.dataDir,
		"VITRINE_ADDR": addr, "VITRINE_WORKERS": "1",
	}
	for k, v := range envs {
		all[k] = v
	}
	if a, ok := envs["VITRINE_ADDR"]; ok { // a wildcard listener is reached on loopback
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		s.base = "http://127.0.0.1:" + port
	}
	s.secret, s.env = all["VITRINE_JWT_SECRET"], all
	return s, all
}

// startServe runs `vitrine serve` in this process on a fresh database with envs added to its
// environment, until the test ends.
func startServe(t testing.TB, envs map[string]string) *served {
	t.Helper()
	s, all := serveEnv(t, envs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, env(all), io.Discard, s.logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("serve did not stop")
		}
	})
	s.waitUp(t, done)
	return s
}

// startServeProcess runs `vitrine serve` as a child process (this test binary acting as the
// command) on a fresh database with envs added to its environment, until the test ends, when
// it is sent SIGTERM.
func startServeProcess(t *testing.T, envs map[string]string) *served {
	t.Helper()
	s, all := serveEnv(t, envs)
	cmd, done := startChild(t, "serve", all, s.logs)
	s.proc = cmd.Process
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v\n%s", err, s.logText())
			}
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			t.Error("serve did not stop")
		}
	})
	s.waitUp(t, done)
	return s
}

// startChild runs this test binary as the vitrine command (see TestMain) with args, envs added
// to this process's environment and its standard error to logs. done receives its end.
func startChild(t *testing.T, command string, envs map[string]string, logs io.Writer) (cmd *exec.Cmd, done <-chan error) {
	t.Helper()
	cmd = exec.Command(os.Args[0], command)
	cmd.Env = append(os.Environ(), "VITRINE_TEST_AS_MAIN=1")
	for k, v := range envs {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- cmd.Wait() }()
	return cmd, ended
}

// waitUp waits for /healthz to answer, then reads the dev token from the logs, or mints a
// service-role token when a JWT secret is set.
func (s *served) waitUp(t testing.TB, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if resp, err := http.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended early: %v\n%s", err, s.logText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up\n%s", s.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.secret != "" {
		s.token = s.mint(t, gallery.Service())
		return
	}
	token, ok := logValue(s.logText(), "dev_token")
	if !ok {
		t.Fatal("dev mode printed no dev token")
	}
	s.token = token
}

// logValue returns the first value of key in logs, written by slog as JSON lines (logs that
// are not a terminal) or as text.
func logValue(logs, key string) (string, bool) {
	for _, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			if v, ok := rec[key].(string); ok {
				return v, true
			}
			continue
		}
		if _, after, ok := strings.Cut(line, " "+key+"="); ok {
			v := strings.Fields(after)[0]
			if unquoted, err := strconv.Unquote(v); err == nil {
				v = unquoted
			}
			return v, true
		}
	}
	return "", false
}

// mint returns a token of caller signed with the server's JWT secret.
func (s *served) mint(t testing.TB, caller gallery.Caller) string {
	t.Helper()
	token, err := jwtauth.Mint([]byte(s.secret), caller, "", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func (s *served) logText() string {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return s.logBuf.String()
}

// PeakRSS returns the child's peak resident set size (VmHWM), in bytes.
func (s *served) PeakRSS(t *testing.T) int64 {
	t.Helper()
	if s.proc == nil {
		t.Fatal("PeakRSS needs a child process (startServeProcess)")
	}
	n, err := procstat.PeakRSS(s.proc.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// CPUTime returns the CPU time (user and system) the child has used so far.
func (s *served) CPUTime(t *testing.T) time.Duration {
	t.Helper()
	if s.proc == nil {
		t.Fatal("CPUTime needs a child process (startServeProcess)")
	}
	d, err := procstat.CPUTime(s.proc.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
