package s3store_test

import (
	"os"
	"testing"

	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }
