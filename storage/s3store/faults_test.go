package s3store_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/s3store"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
	"github.com/vitrine-dev/vitrine/storage/storagetest"
)

// Every operation of the store gets through a server that fails its first
// attempts with 503 SlowDown or 500 InternalError, and nothing is lost or
// altered on the way.
func TestRetriedOperations(t *testing.T) {
	t.Parallel()
	const key = "originals/ab/retried.jpg"
	data := random(300 << 10)
	ops := []struct {
		name  string
		match s3test.Match
		run   func(t *testing.T, b *bundle)
	}{
		{"put", s3test.Method("PUT"), func(t *testing.T, b *bundle) {
			storagetest.Put(t, b.store, key, data)
			checkContent(t, b.direct, key, data)
		}},
		{"stat", s3test.Method("HEAD"), func(t *testing.T, b *bundle) {
			storagetest.Put(t, b.direct, key, data)
			info, err := b.store.Stat(context.Background(), key)
			if err != nil || info.Size != int64(len(data)) {
				t.Fatalf("Stat = %+v, %v", info, err)
			}
		}},
		{"open", s3test.Method("GET"), func(t *testing.T, b *bundle) {
			storagetest.Put(t, b.direct, key, data)
			checkContent(t, b.store, key, data)
		}},
		{"list", s3test.ListObjects, func(t *testing.T, b *bundle) {
			storagetest.Put(t, b.direct, key, data)
			storagetest.Put(t, b.direct, "other", data[:10])
			if got := keys(t, b.store); !slices.Equal(got, []string{key, "other"}) {
				t.Fatalf("List = %q", got)
			}
		}},
		{"delete", s3test.Method("DELETE"), func(t *testing.T, b *bundle) {
			storagetest.Put(t, b.direct, key, data)
			if err := b.store.Delete(context.Background(), key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := b.direct.Stat(context.Background(), key); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Stat after Delete: %v", err)
			}
		}},
	}
	for _, op := range ops {
		for _, fault := range []s3test.Fault{s3test.SlowDown, s3test.InternalError} {
			t.Run(op.name+"/"+fault.String(), func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				b.proxy.Fail(2, fault, op.match)
				op.run(t, b)
				if n, faulted := b.proxy.Count(op.match); n != 3 || faulted != 2 {
					t.Errorf("%d requests, %d of them failed; want 3 requests, the first two failed\n%v", n, faulted, b.proxy.Requests())
				}
				checkSpoolEmpty(t, b.cfg)
			})
		}
	}
}

// A multipart upload whose parts and completion fail at first is retried
// part by part, and the object is whole.
func TestRetriedMultipartUpload(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *s3store.Config) { c.PartSize = s3store.MinPartSize })
	data := random(2*s3store.MinPartSize + 12345)
	b.proxy.Fail(2, s3test.InternalError, s3test.UploadPart)
	b.proxy.Fail(1, s3test.SlowDown, s3test.Method("POST"))
	storagetest.Put(t, b.store, "large/multipart.bin", data)
	if n, faulted := b.proxy.Count(s3test.UploadPart); n != 5 || faulted != 2 {
		t.Errorf("%d part uploads, %d failed; want 3 parts and 2 failures\n%v", n, faulted, b.proxy.Requests())
	}
	checkContent(t, b.direct, "large/multipart.bin", data)
	info, err := b.direct.Stat(context.Background(), "large/multipart.bin")
	if err != nil || info.Size != int64(len(data)) {
		t.Errorf("Stat = %+v, %v", info, err)
	}
	b.checkNoUploads(t)
	checkSpoolEmpty(t, b.cfg)
}

// An upload cut off in the middle of its body, for the server as for the
// client, is sent again whole; the server never shows the half it got.
func TestCutUploadIsRetried(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := random(1 << 20)
	b.proxy.Inject(1, s3test.CutBody, 0, s3test.Method("PUT"))
	storagetest.Put(t, b.store, "cut/upload.bin", data)
	if n, faulted := b.proxy.Count(s3test.Method("PUT")); n != 2 || faulted != 1 {
		t.Errorf("%d PUTs, %d cut; want 2 and 1\n%v", n, faulted, b.proxy.Requests())
	}
	checkContent(t, b.direct, "cut/upload.bin", data)
}

// While an upload is on its way, the object is not visible at all: neither
// Stat, nor Open, nor List sees part of it.
func TestNoPartialObjectDuringUpload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		size int
		opt  func(*s3store.Config)
	}{
		{"PutObject", 2 << 20, func(*s3store.Config) {}},
		{"multipart", s3store.MinPartSize + 100, func(c *s3store.Config) { c.PartSize = s3store.MinPartSize }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.opt)
			const key = "slow/upload.bin"
			data := random(tc.size)
			// The last part (or the only PUT) stops halfway for a second.
			b.proxy.Inject(1, s3test.PauseBody, time.Second, func(r *http.Request) bool {
				return r.Method == "PUT" && (r.URL.Query().Get("partNumber") == "" || r.URL.Query().Get("partNumber") == "2")
			})
			done := make(chan error, 1)
			go func() { done <- storage.Put(context.Background(), b.store, key, data) }()
			waitFor(t, func() bool {
				for _, r := range b.proxy.Requests() {
					if r.Fault == s3test.PauseBody {
						return true
					}
				}
				return false
			})
			time.Sleep(200 * time.Millisecond) // half the body is at the server
			if info, err := b.direct.Stat(context.Background(), key); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("during the upload, Stat = %+v, %v; want ErrNotFound", info, err)
			}
			if ks := keys(t, b.direct); len(ks) != 0 {
				t.Errorf("during the upload, List = %q", ks)
			}
			if err := <-done; err != nil {
				t.Fatalf("Commit: %v", err)
			}
			checkContent(t, b.direct, key, data)
		})
	}
}

// Slow answers within the response timeout are waited for; an answer that
// does not come within it is given up and the request sent again.
func TestSlowResponses(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *s3store.Config) { c.ResponseTimeout = 500 * time.Millisecond })
	data := random(1000)
	storagetest.Put(t, b.direct, "slow", data)

	b.proxy.Inject(1, s3test.Delay, 300*time.Millisecond, s3test.Method("GET"))
	start := time.Now()
	checkContent(t, b.store, "slow", data)
	if n, _ := b.proxy.Count(s3test.Method("GET")); n != 1 {
		t.Errorf("a slow answer within the timeout took %d GETs, want 1", n)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("the read took %v, less than the injected delay", d)
	}

	b.proxy.Inject(1, s3test.Delay, 3*time.Second, s3test.Method("HEAD"))
	start = time.Now()
	if info, err := b.store.Stat(context.Background(), "slow"); err != nil || info.Size != 1000 {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	if n, faulted := b.proxy.Count(s3test.Method("HEAD")); n != 2 || faulted != 1 {
		t.Errorf("%d HEADs, %d delayed; want the delayed one given up and one more\n%v", n, faulted, b.proxy.Requests())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Stat took %v: the stalled attempt was not given up", d)
	}
}

// When faults outlast the retries, the operation fails with the server's
// error, nothing is published, nothing is left behind, and the store works
// again once the server does.
func TestRetryBudgetExhausted(t *testing.T) {
	t.Parallel()
	retries := func(c *s3store.Config) { c.MaxRetries = 2 }

	t.Run("PutObject", func(t *testing.T) {
		t.Parallel()
		b := setup(t, retries)
		b.proxy.Fail(100, s3test.SlowDown, s3test.Method("PUT"))
		err := storage.Put(context.Background(), b.store, "lost.jpg", random(1000))
		if err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Commit through a failing server = %v, want the server's error", err)
		}
		if n, _ := b.proxy.Count(s3test.Method("PUT")); n != 3 {
			t.Errorf("%d PUTs, want 3 (1 + MaxRetries)", n)
		}
		if _, err := b.direct.Stat(context.Background(), "lost.jpg"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat of the failed object: %v, want ErrNotFound", err)
		}
		if ks := keys(t, b.direct); len(ks) != 0 {
			t.Errorf("List = %q", ks)
		}
		checkSpoolEmpty(t, b.cfg)
		b.proxy.Clear()
		storagetest.Put(t, b.store, "lost.jpg", random(1000))
		checkContent(t, b.direct, "lost.jpg", random(1000))
	})

	t.Run("multipart", func(t *testing.T) {
		t.Parallel()
		b := setup(t, retries, func(c *s3store.Config) { c.PartSize = s3store.MinPartSize })
		b.proxy.Fail(1, s3test.InternalError, s3test.UploadPart) // the first part gets through on retry
		b.proxy.Fail(100, s3test.InternalError, s3test.UploadPart)
		err := storage.Put(context.Background(), b.store, "lost/large.bin", random(2*s3store.MinPartSize+1))
		if err == nil {
			t.Fatal("Commit through a failing server succeeded")
		}
		if _, err := b.direct.Stat(context.Background(), "lost/large.bin"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat of the failed object: %v, want ErrNotFound", err)
		}
		if n, _ := b.proxy.Count(s3test.Method("DELETE")); n != 1 {
			t.Errorf("%d DELETEs (AbortMultipartUpload), want 1\n%v", n, b.proxy.Requests())
		}
		b.checkNoUploads(t)
		checkSpoolEmpty(t, b.cfg)
	})

	t.Run("reads", func(t *testing.T) {
		t.Parallel()
		b := setup(t, retries)
		storagetest.Put(t, b.direct, "kept.jpg", random(1000))
		b.proxy.Fail(100, s3test.InternalError, s3test.AnyRequest)
		if _, _, err := b.store.Open(context.Background(), "kept.jpg", 0, -1); err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Open through a failing server: %v, want the server's error", err)
		}
		if _, err := b.store.Stat(context.Background(), "kept.jpg"); err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat through a failing server: %v, want the server's error", err)
		}
		var errs []error
		for _, err := range b.store.List(context.Background(), "", "") {
			errs = append(errs, err)
		}
		if len(errs) != 1 || errs[0] == nil {
			t.Errorf("List through a failing server yielded %v, want one error", errs)
		}
		if err := b.store.Delete(context.Background(), "kept.jpg"); err == nil {
			t.Errorf("Delete through a failing server succeeded")
		}
		if n, _ := b.proxy.Count(s3test.AnyRequest); n != 4*3 {
			t.Errorf("%d requests for 4 operations, want 3 each", n)
		}
		checkContent(t, b.direct, "kept.jpg", random(1000))
	})
}

// Many writers at once through a server that keeps failing requests: every
// object arrives whole.
func TestConcurrentWritesUnderFaults(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *s3store.Config) { c.MaxRetries = 30 })
	b.proxy.Fail(10, s3test.SlowDown, s3test.AnyRequest)
	b.proxy.Fail(10, s3test.InternalError, s3test.AnyRequest)
	b.proxy.Inject(5, s3test.CutBody, 0, s3test.Method("PUT"))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := storage.Put(context.Background(), b.store, fmt.Sprintf("c/%d.bin", i), random(10000+i)); err != nil {
				t.Errorf("Commit %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if _, faulted := b.proxy.Count(s3test.AnyRequest); faulted < 20 {
		t.Errorf("only %d faults were injected", faulted)
	}
	for i := range 8 {
		checkContent(t, b.direct, fmt.Sprintf("c/%d.bin", i), random(10000+i))
	}
	if ks := keys(t, b.direct); len(ks) != 8 {
		t.Errorf("List = %q, want 8 keys", ks)
	}
}

// waitFor waits until cond holds, for at most 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
