package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
)

// TestMain runs the tests, or, when VITRINE_TEST_AS_MAIN is set, this test binary as the
// vitrine command itself, so tests can start real `vitrine` processes (and kill them).
func TestMain(m *testing.M) {
	if os.Getenv("VITRINE_TEST_AS_MAIN") == "1" {
		bindMallocArenas(os.Args[1:])
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString("vitrine: " + err.Error() + "\n")
			os.Exit(2)
		}
		os.Exit(0)
	}
	code := pgtest.Main(m)
	s3test.Stop()
	os.Exit(code)
}
