// Package s3test gives tests a real S3 server: a versitygw gateway over a
// temporary directory (its posix backend), started once per test binary on
// a free port of 127.0.0.1, with a fresh bucket for each test, and a proxy
// that injects faults between a client and the gateway.
//
// The gateway is the versitygw binary found through $VITRINE_VERSITYGW, then
// PATH, then $GOBIN and the bin directories of $GOPATH (as `go install`
// leaves it). Without it the tests fail, saying how to install it: there is
// no skipping.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the versitygw release the tests are written against.
const Version = "v1.8.0"

// InstallCommand installs the gateway.
const InstallCommand = "go install github.com/versity/versitygw/cmd/versitygw@" + Version

// Gateway is a running versitygw.
type Gateway struct {
	// Endpoint is the gateway's base URL, such as "http://127.0.0.1:41234".
	Endpoint string
	// AccessKey and SecretKey are the credentials of its root account.
	AccessKey, SecretKey string
	// Region is the region requests must be signed for.
	Region string
}

// gw is the gateway of this test binary, started by the first Start.
var gw struct {
	once    sync.Once
	err     error
	gateway *Gateway
	cmd     *exec.Cmd
	exited  chan struct{}
	dir     string
}

// Main runs the tests of m and then stops the gateway if one was started.
// Call it from TestMain: func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the gateway, if one was started, and removes its files. Main
// calls it; a TestMain that cannot call Main (because it already calls
// another Main) calls it after the tests.
func Stop() {
	if gw.cmd != nil && gw.cmd.Process != nil {
		gw.cmd.Process.Signal(os.Interrupt)
		select {
		case <-gw.exited:
		case <-time.After(5 * time.Second):
			gw.cmd.Process.Kill()
			<-gw.exited
		}
	}
	if gw.dir != "" {
		os.RemoveAll(gw.dir)
	}
}

// Start returns the gateway of this test binary, starting it on first use.
// It fails the test when the gateway cannot be started, in particular when
// versitygw is not installed.
func Start(t testing.TB) *Gateway {
	t.Helper()
	gw.once.Do(func() { gw.gateway, gw.err = start() })
	if gw.err != nil {
		t.Fatalf("s3test: %v", gw.err)
	}
	return gw.gateway
}

// Binary returns the path of the versitygw binary, or an error saying how
// to install it.
func Binary() (string, error) {
	if p := os.Getenv("VITRINE_VERSITYGW"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, d := range filepath.SplitList(gopath) {
		dirs = append(dirs, filepath.Join(d, "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("versitygw %s is needed by the S3 tests and was found neither in $VITRINE_VERSITYGW, "+
		"nor in PATH, nor in %s: install it with `%s` (scripts/install-deps.sh does)",
		Version, strings.Join(dirs, ", "), InstallCommand)
}

// start starts a gateway, trying a few ports in case another process takes
// the free port found before the gateway listens on it.
func start() (*Gateway, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vitrine-versitygw-")
	if err != nil {
		return nil, err
	}
	gw.dir = dir
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, err
	}
	// The posix backend keeps object metadata (ETags, content types) in
	// user extended attributes, or in a sidecar directory where the file
	// system has none (tmpfs before Linux 6.6, some overlay mounts).
	var backend []string
	if err := xattrSupported(root); err != nil {
		backend = append(backend, "--sidecar", filepath.Join(dir, "meta"))
		if err := os.Mkdir(filepath.Join(dir, "meta"), 0o755); err != nil {
			return nil, err
		}
	}
	g := &Gateway{AccessKey: "vitrinetestaccesskey", SecretKey: "vitrine-test-secret-key-" + randomHex(8), Region: "us-east-1"}
	var errs []error
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr := ln.Addr().String()
		ln.Close()
		args := []string{"--port", addr, "--access", g.AccessKey, "--secret", g.SecretKey, "--region", g.Region, "--quiet", "posix"}
		args = append(append(args, backend...), root)
		cmd := exec.Command(bin, args...)
		cmd.Env = gatewayEnv()
		var out lockedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		setProcAttr(cmd)
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting %s: %w", bin, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		g.Endpoint = "http://" + addr
		if err := waitReady(g.Endpoint, exited, 30*time.Second); err != nil {
			cmd.Process.Kill()
			<-exited
			errs = append(errs, fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, out.String()))
			continue
		}
		gw.cmd, gw.exited = cmd, exited
		return g, nil
	}
	return nil, fmt.Errorf("versitygw did not start: %w", errors.Join(errs...))
}

// gatewayEnv is the environment of the test binary without the variables
// that versitygw reads, so that the flags alone configure it.
func gatewayEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VGW_") || strings.HasPrefix(kv, "ROOT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// waitReady waits until the gateway answers HTTP requests (with an error,
// since they are not signed).
func waitReady(endpoint string, exited <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("it exited")
		case <-ctx.Done():
			return fmt.Errorf("it did not answer within %v", timeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// lockedBuffer collects the gateway's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
