package s3store_test

import (
	"testing"

	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
	"github.com/vitrine-dev/vitrine/storage/storagetest"
)

// TestConformance runs the storage conformance suite against versitygw, each
// subtest with a bucket of its own.
func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return s3test.NewStore(t) })
}
