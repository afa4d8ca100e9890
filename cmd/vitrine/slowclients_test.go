package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowPost opens a connection to s and sends the headers of a POST /v1/products declaring a
// body of length bytes, with token when not "", and the body's first byte.
func slowPost(t *testing.T, s *served, token string, length int) net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(s.base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	auth := ""
	if token != "" {
		auth = "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := fmt.Fprintf(c, "POST /v1/products HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", addr, auth, length); err != nil {
		t.Fatal(err)
	}
	return c
}

// readAnswer reads what the server sends on c until it closes the connection, for at most
// limit. It returns the status code (0 if none came), whether the server closed the
// connection within limit, and whether the response said Connection: close.
func readAnswer(c net.Conn, limit time.Duration) (status int, closed, saidClose bool) {
	_ = c.SetReadDeadline(time.Now().Add(limit))
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err == nil {
		status, saidClose = resp.StatusCode, resp.Close
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	_, err := io.Copy(io.Discard, br)
	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	return status, !timedOut, saidClose
}

// createProductAs creates a product with a fresh client (its own connection) and returns the
// status.
func createProductAs(t *testing.T, s *served, timeout time.Duration) int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}, Timeout: timeout}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("POST", s.base+"/v1/products", strings.NewReader(`{"supplier_id":"7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("a normal request failed: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSlowBodiesAreCutOff attacks `vitrine serve` with bodies that never come: 200
// connections that declare 100000 bytes, send one and no token, and a signed-in JSON body
// trickled a byte at a time. The first are answered 401 and closed at once (the body is not
// drained); the trickled one is cut off at the body timeout; and a normal request by another
// client succeeds meanwhile.
func TestSlowBodiesAreCutOff(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{"VITRINE_BODY_TIMEOUT": "2s", "VITRINE_WORKERS": "0"})

	const n = 200
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = slowPost(t, s, "", 100000)
	}
	if st := createProductAs(t, s, time.Minute); st != http.StatusCreated {
		t.Fatalf("a normal request while %d slow bodies are open: %d, want 201", n, st)
	}
	var wg sync.WaitGroup
	var notClosed, wrong atomic.Int64
	for _, c := range conns {
		wg.Go(func() {
			// Well within a minute: the server answers without reading the body, then closes.
			st, closed, saidClose := readAnswer(c, time.Minute)
			if !closed {
				notClosed.Add(1)
			}
			if st != http.StatusUnauthorized || !saidClose {
				wrong.Add(1)
			}
		})
	}
	wg.Wait()
	if notClosed.Load() > 0 || wrong.Load() > 0 {
		t.Fatalf("of %d connections with a body that never came: %d still open after a minute, %d not answered 401 with Connection: close",
			n, notClosed.Load(), wrong.Load())
	}

	// A signed-in JSON body trickled a byte every 50 ms would take 50 s: cut off at 2 s.
	c := slowPost(t, s, s.token, 1000)
	var sent atomic.Int64
	sent.Store(1)
	go func() {
		for sent.Load() < 1000 {
			time.Sleep(50 * time.Millisecond)
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
			sent.Add(1)
		}
	}()
	if st := createProductAs(t, s, time.Minute); st != http.StatusCreated {
		t.Fatalf("a normal request while a body trickles: %d, want 201", st)
	}
	st, closed, _ := readAnswer(c, time.Minute)
	if !closed {
		t.Fatal("a trickled JSON body was not cut off within a minute")
	}
	if got := sent.Load(); got >= 1000 {
		t.Fatalf("the server waited for the whole trickled body (%d bytes)", got)
	}
	if st != 0 && st != http.StatusBadRequest {
		t.Fatalf("a trickled JSON body cut off was answered %d, want 400 or nothing", st)
	}
}

// acceptedConns counts the TCP connections to port that the child process holds open:
// sockets among its file descriptors whose local port is port. Connections waiting in the
// kernel's accept queue are no process's.
func (s *served) acceptedConns(t *testing.T, port int) int {
	t.Helper()
	inodes := map[string]bool{}
	for _, name := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", s.proc.Pid, name))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.Fields(line)
			if i == 0 || len(f) < 10 || f[3] == "0A" { // the header; LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inodes[f[9]] = true
			}
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.proc.Pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", s.proc.Pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok && inodes[strings.TrimSuffix(inode, "]")] {
			n++
		}
	}
	return n
}

// TestOpenConnectionsAreBounded attacks a `vitrine serve` process that may hold 16
// connections with 64 signed-in clients trickling JSON bodies: the process never holds more
// than 16 client connections, each attacker is cut off, and a normal request made meanwhile
// by another client is answered once slots free up.
func TestOpenConnectionsAreBounded(t *testing.T) {
	t.Parallel()
	const limit, attackers = 16, 64
	s := startServeProcess(t, map[string]string{
		"VITRINE_MAX_CONNECTIONS": strconv.Itoa(limit), "VITRINE_BODY_TIMEOUT": "2s", "VITRINE_WORKERS": "0",
	})
	_, portText, _ := net.SplitHostPort(strings.TrimPrefix(s.base, "http://"))
	port, _ := strconv.Atoi(portText)

	var wg sync.WaitGroup
	var notClosed atomic.Int64
	for range attackers {
		c := slowPost(t, s, s.token, 1000)
		go func() {
			for {
				time.Sleep(200 * time.Millisecond)
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
		wg.Go(func() {
			if _, closed, _ := readAnswer(c, 3*time.Minute); !closed {
				notClosed.Add(1)
			}
		})
	}
	normal := make(chan int, 1)
	go func() { normal <- createProductAs(t, s, 3*time.Minute) }()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	most := 0
	for sampling := true; sampling; {
		select {
		case <-done:
			sampling = false
		case <-time.After(20 * time.Millisecond):
		}
		most = max(most, s.acceptedConns(t, port))
	}
	if n := notClosed.Load(); n > 0 {
		t.Fatalf("%d of %d trickling clients were not cut off within 3 minutes", n, attackers)
	}
	if most > limit {
		t.Fatalf("the server held %d connections at once, more than VITRINE_MAX_CONNECTIONS=%d", most, limit)
	}
	if most == 0 {
		t.Fatal("no connection of the server was seen: the count is broken")
	}
	if st := <-normal; st != http.StatusCreated {
		t.Fatalf("a normal request during the attack: %d, want 201", st)
	}
	t.Logf("at most %d connections held at once (limit %d) by %d attackers", most, limit, attackers)
}
