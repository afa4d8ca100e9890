package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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

	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// served is a running `vitrine serve`: in this process (startServe) or as a child process
// (startServeProcess), whose memory and CPU can then be measured alone.
type served struct {
	base, token, dataDir string
	proc                 *os.Process // the child process, for startServeProcess
	logs                 *lockedWriter
	logBuf               *bytes.Buffer
}

// serveEnv is the environment of a `vitrine serve` on a fresh database, with envs added.
func serveEnv(t *testing.T, envs map[string]string) (*served, map[string]string) {
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
	return s, all
}

// startServe runs `vitrine serve` in this process on a fresh database with envs added to its
// environment, until the test ends.
func startServe(t *testing.T, envs map[string]string) *served {
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
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), "VITRINE_TEST_AS_MAIN=1")
	for k, v := range all {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.proc = cmd.Process
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
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

// waitUp waits for /healthz to answer, then reads the dev token from the logs.
func (s *served) waitUp(t *testing.T, done <-chan error) {
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
	// In dev mode the service token is in the logs; with a JWT secret, tests mint their own.
	if _, after, ok := strings.Cut(s.logText(), "dev_token="); ok {
		s.token = strings.Fields(after)[0]
	}
}

func (s *served) logText() string {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return s.logBuf.String()
}

// procStatus returns a field of /proc/<pid>/status of the child process, in kB for memory.
func (s *served) procStatus(t *testing.T, field string) int64 {
	t.Helper()
	if s.proc == nil {
		t.Fatal("procStatus needs a child process (startServeProcess)")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.proc.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, s.proc.Pid)
	return 0
}

// PeakRSS returns the child's peak resident set size (VmHWM), in bytes.
func (s *served) PeakRSS(t *testing.T) int64 { return s.procStatus(t, "VmHWM") << 10 }

// CPUTime returns the CPU time (user and system) the child has used so far.
func (s *served) CPUTime(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.proc.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}
