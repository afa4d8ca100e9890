package metrics_test

import (
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/metrics"
	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/localfs"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
	"github.com/vitrine-dev/vitrine/storage/storagetest"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// counter returns the value of the series line that matches pattern in m's exposition.
func counter(t *testing.T, m *metrics.Metrics, pattern string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	match := regexp.MustCompile("(?m)^" + pattern + ` (\S+)$`).FindStringSubmatch(rec.Body.String())
	if match == nil {
		t.Fatalf("no series %s in\n%s", pattern, rec.Body.String())
	}
	v, err := strconv.ParseFloat(match[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The observed local store passes the backends' conformance suite, keeps Check and gains
// no Presign, and counts its operations.
func TestObservedLocalConformance(t *testing.T) {
	m := metrics.New()
	// The suite's subtests run in parallel, after this function returns.
	t.Cleanup(func() {
		if v := counter(t, m, `vitrine_store_operations_total\{operation="put",outcome="ok"\}`); v < 1 {
			t.Errorf("puts counted: %v", v)
		}
		if v := counter(t, m, `vitrine_store_operations_total\{operation="open",outcome="not_found"\}`); v < 1 {
			t.Errorf("opens of missing keys counted: %v", v)
		}
	})
	storagetest.Run(t, func(t *testing.T) storage.Store {
		l, err := localfs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		s := metrics.Store(l, m, nil)
		if _, ok := s.(storage.Checker); !ok {
			t.Fatal("the observed local store lost Check")
		}
		if _, ok := s.(storage.Presigner); ok {
			t.Fatal("the observed local store presigns")
		}
		return s
	})
}

// The observed S3 store passes the conformance suite against a real S3 server, and keeps
// presigning and batch deletes.
func TestObservedS3Conformance(t *testing.T) {
	m := metrics.New()
	t.Cleanup(func() {
		if v := counter(t, m, `vitrine_store_operations_total\{operation="put",outcome="ok"\}`); v < 1 {
			t.Errorf("puts counted: %v", v)
		}
	})
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s := metrics.Store(s3test.NewStore(t), m, nil)
		_, presign := s.(storage.Presigner)
		_, batch := s.(storage.BatchDeleter)
		_, check := s.(storage.Checker)
		if !presign || !batch || !check {
			t.Fatalf("the observed S3 store lost an interface: presign %t, batch %t, check %t", presign, batch, check)
		}
		return s
	})
}
