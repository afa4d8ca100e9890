package s3store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/s3store"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
	"github.com/vitrine-dev/vitrine/storage/storagetest"
)

// The bytes of a writer never take memory in proportion to the object:
// they are spooled to a file, and uploaded from it in sections. Not
// parallel: it measures the allocations of the whole process.
func TestWriterMemoryDoesNotGrowWithSize(t *testing.T) {
	b := setup(t, func(c *s3store.Config) { c.PartSize = 16 << 20 })
	const size = 64 << 20
	chunk := random(1 << 20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w, err := b.store.NewWriter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.New()
	for range size / len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		want.Write(chunk)
	}
	if err := w.Commit(context.Background(), "large/64m.bin"); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/8 {
		t.Errorf("writing and committing %d MiB allocated %d MiB", size>>20, alloc>>20)
	} else {
		t.Logf("writing and committing %d MiB allocated %.1f MiB", size>>20, float64(alloc)/(1<<20))
	}
	if n, _ := b.proxy.Count(s3test.UploadPart); n != 4 {
		t.Errorf("%d parts uploaded, want 4", n)
	}
	r, info, err := b.direct.Open(context.Background(), "large/64m.bin", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := sha256.New()
	if n, err := io.Copy(got, r); err != nil || n != size || info.Size != size {
		t.Fatalf("read back %d bytes (size %d): %v", n, info.Size, err)
	}
	if !slices.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Error("the content read back differs")
	}
}

// Spool files have no name from the start: the spool directory stays empty
// whatever happens to the writers.
func TestSpoolLeavesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	pending, err := b.store.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(pending, "pending")
	checkSpoolEmpty(t, b.cfg)
	pending.Abort()

	w, _ := b.store.NewWriter(ctx)
	io.WriteString(w, "bad key")
	if err := w.Commit(ctx, "../bad"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Fatalf("Commit(../bad) = %v", err)
	}
	b.proxy.Fail(100, s3test.InternalError, s3test.Method("PUT"))
	if err := storage.Put(context.Background(), b.store, "failed", []byte("x")); err == nil {
		t.Fatal("Commit through a failing server succeeded")
	}
	b.proxy.Clear()
	storagetest.Put(t, b.store, "ok", []byte("ok"))
	checkSpoolEmpty(t, b.cfg)
}

// Committing a key that already holds an object of the same size uploads
// nothing (keys are content hashes); another size replaces it.
func TestCommitSkipsExistingObject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	storagetest.Put(t, b.store, "same.jpg", []byte("12345"))
	storagetest.Put(t, b.store, "same.jpg", []byte("12345"))
	if n, _ := b.proxy.Count(s3test.Method("PUT")); n != 1 {
		t.Errorf("%d PUTs for two commits of the same object, want 1", n)
	}
	storagetest.Put(t, b.store, "same.jpg", []byte("123456"))
	checkContent(t, b.direct, "same.jpg", []byte("123456"))
}

// Objects carry the type of their extension and are marked immutable, for
// when they are served straight from the bucket.
func TestObjectHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for key, want := range map[string]string{
		"a.jpg": "image/jpeg", "a.png": "image/png", "a.webp": "image/webp", "a.avif": "image/avif", "a.bin": "application/octet-stream",
	} {
		storagetest.Put(t, b.store, key, []byte("data"))
		u, err := b.store.PresignGet(context.Background(), key, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type %q, want %q", key, got, want)
		}
		if got := resp.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", key, got)
		}
	}
}

// List reads the bucket one page at a time, and only as far as the caller
// goes.
func TestListPages(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *s3store.Config) { c.ListPageSize = 2 })
	var want []string
	for i := range 7 {
		k := fmt.Sprintf("p/%d", i)
		storagetest.Put(t, b.direct, k, []byte(k))
		want = append(want, k)
	}
	if got := keys(t, b.store); !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	if n, _ := b.proxy.Count(s3test.ListObjects); n != 4 {
		t.Errorf("listing 7 keys 2 by 2 took %d requests, want 4", n)
	}
	for _, err := range b.store.List(context.Background(), "p/", "p/2") {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if n, _ := b.proxy.Count(s3test.ListObjects); n != 5 {
		t.Errorf("a List stopped after its first key made %d more requests, want 1", n-4)
	}
}

// List skips objects that other tools put in the bucket under keys that
// Vitrine would refuse.
func TestListSkipsForeignKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	storagetest.Put(t, b.direct, "a/ok.jpg", []byte("ok"))
	client := b.gw.Client()
	for _, k := range []string{"UPPER.jpg", "a/", "a/sp ace", "a/B/c.jpg"} {
		if _, err := client.PutObject(context.Background(), putInput(b.bucket, k)); err != nil {
			t.Fatalf("PutObject(%q): %v", k, err)
		}
	}
	if got := keys(t, b.store); !slices.Equal(got, []string{"a/ok.jpg"}) {
		t.Errorf("List = %q, want [a/ok.jpg]", got)
	}
}

// Presigned URLs work without credentials until they expire, for GET and
// for PUT.
func TestPresign(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var p storage.Presigner = b.store
	storagetest.Put(t, b.store, "p/get.jpg", []byte("get me"))
	u, err := p.PresignGet(ctx, "p/get.jpg", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, b.proxy.URL+"/"+b.bucket+"/p/get.jpg?") || !strings.Contains(u, "X-Amz-Signature=") {
		t.Errorf("presigned GET URL %s", u)
	}
	if status, body := httpDo(t, "GET", u, ""); status != 200 || body != "get me" {
		t.Errorf("GET presigned URL: %d %q", status, body)
	}
	if status, _ := httpDo(t, "GET", strings.Replace(u, "get.jpg", "other.jpg", 1), ""); status != http.StatusForbidden {
		t.Errorf("GET of another key with the signature: %d, want 403", status)
	}

	u, err = p.PresignPut(ctx, "p/put.jpg", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := httpDo(t, "PUT", u, "put me"); status != 200 {
		t.Fatalf("PUT presigned URL: %d %s", status, body)
	}
	checkContent(t, b.direct, "p/put.jpg", []byte("put me"))

	u, err = p.PresignGet(ctx, "p/get.jpg", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if status, _ := httpDo(t, "GET", u, ""); status != http.StatusForbidden {
		t.Errorf("GET of an expired URL: %d, want 403", status)
	}

	if _, err := p.PresignGet(ctx, "../x", time.Minute); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("PresignGet(../x) = %v, want ErrInvalidKey", err)
	}
	for _, d := range []time.Duration{0, time.Millisecond, 8 * 24 * time.Hour} {
		if _, err := p.PresignGet(ctx, "p/get.jpg", d); err == nil {
			t.Errorf("PresignGet with expiry %v succeeded", d)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	good := s3store.Config{Bucket: "b", AccessKeyID: "a", SecretAccessKey: "s", TempDir: t.TempDir()}
	if _, err := s3store.New(good); err != nil {
		t.Fatalf("New(%+v): %v", good, err)
	}
	for name, change := range map[string]func(*s3store.Config){
		"no bucket":     func(c *s3store.Config) { c.Bucket = "" },
		"no secret":     func(c *s3store.Config) { c.SecretAccessKey = "" },
		"bad endpoint":  func(c *s3store.Config) { c.Endpoint = "ftp://x" },
		"host only":     func(c *s3store.Config) { c.Endpoint = "s3.example.com" },
		"tiny parts":    func(c *s3store.Config) { c.PartSize = 1 << 20 },
		"query in URL":  func(c *s3store.Config) { c.Endpoint = "https://x/?a=b" },
		"spool is file": func(c *s3store.Config) { c.TempDir = "/dev/null/x" },
	} {
		c := good
		change(&c)
		if _, err := s3store.New(c); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// Check finds out whether the bucket can be reached with the credentials.
func TestCheck(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if err := b.store.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
	for name, change := range map[string]func(*s3store.Config){
		"missing bucket": func(c *s3store.Config) { c.Bucket = "no-such-bucket" },
		"wrong secret":   func(c *s3store.Config) { c.SecretAccessKey = "wrong" },
	} {
		c := b.gw.Config(t, b.bucket)
		change(&c)
		s, err := s3store.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(context.Background()); err == nil {
			t.Errorf("%s: Check succeeded", name)
		}
	}
}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
