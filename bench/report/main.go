// Command report turns the output of `go test -bench` of `make bench` into
// docs/BENCHMARKS.md and its charts (docs/bench/*.png): the machine's description, read
// when it runs, tables of medians over -count runs with ratios against the baselines
// measured in the same run, and how to rerun.
//
//	go run ./bench/report -in bin/bench.txt -md docs/BENCHMARKS.md -charts docs/bench
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	in := flag.String("in", "bin/bench.txt", "the output of go test -bench to read")
	md := flag.String("md", "docs/BENCHMARKS.md", "the markdown file to write")
	charts := flag.String("charts", "docs/bench", "the directory of the PNG charts, relative to the markdown file's directory when written in it")
	mode := flag.String("mode", "QUICK=1", "how the run was made, as shown in the document")
	flag.Parse()
	if err := run(*in, *md, *charts, *mode); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(in, md, charts, mode string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := parse(f, in)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(md), charts)
	if err != nil {
		return err
	}
	doc, err := render(res, describeMachine(), mode, charts, filepath.ToSlash(rel))
	if err != nil {
		return err
	}
	return os.WriteFile(md, []byte(doc), 0o644)
}

// machine is the description of the machine the benchmarks ran on.
type machine struct {
	Date, CPU, Cores, Memory, Kernel, PostgreSQL, Libvips, Go string
}

// describeMachine reads the machine's description; a part it cannot read says why.
func describeMachine() machine {
	m := machine{
		Date:   time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Cores:  fmt.Sprint(runtime.NumCPU()),
		Go:     runtime.Version(),
		CPU:    procField("/proc/cpuinfo", "model name"),
		Memory: procField("/proc/meminfo", "MemTotal"),
	}
	var kB float64
	if _, err := fmt.Sscanf(m.Memory, "%g kB", &kB); err == nil {
		m.Memory = fmt.Sprintf("%.1f GiB", kB/(1<<20))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	} else {
		m.Kernel = "unknown: " + err.Error()
	}
	if out, err := exec.Command("pkg-config", "--modversion", "vips").Output(); err == nil {
		m.Libvips = strings.TrimSpace(string(out))
	} else {
		m.Libvips = "unknown: " + err.Error()
	}
	m.PostgreSQL = postgresVersion(os.Getenv("TEST_DATABASE_URL"))
	return m
}

// postgresVersion returns the server version PostgreSQL announces when url connects.
func postgresVersion(url string) string {
	if url == "" {
		return "unknown: TEST_DATABASE_URL is not set"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "unknown: " + err.Error()
	}
	defer conn.Close(ctx)
	return conn.PgConn().ParameterStatus("server_version")
}

// procField returns the value of the first line of a /proc file starting with key.
func procField(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown: " + err.Error()
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "unknown: no " + key + " in " + path
}
