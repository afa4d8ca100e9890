package adopt_test

import (
	"os"
	"testing"

	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
