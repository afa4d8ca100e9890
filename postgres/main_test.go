package postgres_test

import (
	"context"

	"os"
	"testing"

	"github.com/vitrine-dev/vitrine/gallery"

	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// serviceCtx acts as the service role: these tests are about the gallery's rules, not who
// may apply them (see tenancy_test.go for that).
var serviceCtx = gallery.WithCaller(context.Background(), gallery.Service())
