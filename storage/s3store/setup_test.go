package s3store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/s3store"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
)

// bundle is what a test of the S3 store works with: a store reaching a
// fresh bucket through a fault-injecting proxy, and one reaching it
// directly, to look at the bucket as it is.
type bundle struct {
	gw     *s3test.Gateway
	bucket string
	cfg    s3store.Config // of store
	proxy  *s3test.Proxy
	store  *s3store.Store // through the proxy
	direct *s3store.Store
}

// setup returns a bundle; opts change the configuration of the store that
// goes through the proxy.
func setup(t *testing.T, opts ...func(*s3store.Config)) *bundle {
	t.Helper()
	b := &bundle{gw: s3test.Start(t)}
	b.bucket = b.gw.NewBucket(t)
	b.proxy = s3test.NewProxy(t, b.gw.Endpoint)
	b.cfg = b.gw.Config(t, b.bucket)
	b.cfg.Endpoint = b.proxy.URL
	for _, o := range opts {
		o(&b.cfg)
	}
	var err error
	if b.store, err = s3store.New(b.cfg); err != nil {
		t.Fatalf("New: %v", err)
	}
	if b.direct, err = s3store.New(b.gw.Config(t, b.bucket)); err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// read returns the content of key in s.
func read(t testing.TB, s storage.Store, key string) []byte {
	t.Helper()
	r, _, err := s.Open(context.Background(), key, 0, -1)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return b
}

// checkContent fails the test unless key holds exactly want in s.
func checkContent(t testing.TB, s storage.Store, key string, want []byte) {
	t.Helper()
	if got := read(t, s, key); !bytes.Equal(got, want) {
		t.Errorf("%q holds %d bytes (sha256 %x), want %d bytes (sha256 %x)", key, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

// keys returns every key of s.
func keys(t testing.TB, s storage.Store) []string {
	t.Helper()
	var ks []string
	for info, err := range s.List(context.Background(), "", "") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		ks = append(ks, info.Key)
	}
	return ks
}

// checkSpoolEmpty fails the test if the spool directory holds any file.
func checkSpoolEmpty(t testing.TB, cfg s3store.Config) {
	t.Helper()
	entries, err := os.ReadDir(cfg.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("the spool directory holds %d files", len(entries))
	}
}

// checkNoUploads fails the test if the bucket has multipart uploads in
// progress (parts that nobody will complete).
func (b *bundle) checkNoUploads(t testing.TB) {
	t.Helper()
	out, err := b.gw.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &b.bucket})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("%d multipart uploads left in the bucket", len(out.Uploads))
	}
}

// random returns n pseudo-random bytes.
func random(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{'s', '3'})
	r.Read(b)
	return b
}

// putInput is a PutObject of a few bytes under key (none for a "folder/"
// marker), for objects that the store would refuse to write.
func putInput(bucket, key string) *s3.PutObjectInput {
	body := "foreign"
	if strings.HasSuffix(key, "/") {
		body = ""
	}
	return &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader(body)}
}
