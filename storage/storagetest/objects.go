package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/storage"
)

var objectTests = []test{
	{"OpenRanges", testOpenRanges},
	{"OpenInvalidRanges", testOpenInvalidRanges},
	{"Stat", testStat},
	{"EmptyObject", testEmptyObject},
	{"Missing", testMissing},
	{"Delete", testDelete},
	{"DeleteAll", testDeleteAll},
	{"DeleteDirectoryLikeKey", testDeleteDirectoryLikeKey},
	{"CanceledContext", testCanceledContext},
}

func testOpenRanges(t *testing.T, s storage.Store) {
	const key = "originals/ab/range.bin"
	data := pattern(1000)
	Put(t, s, key, data)
	size := int64(len(data))
	for _, r := range []struct {
		name           string
		offset, length int64
		want           []byte
	}{
		{"full", 0, -1, data},
		{"full exact length", 0, size, data},
		{"first byte", 0, 1, data[:1]},
		{"middle", 400, 123, data[400:523]},
		{"last byte", size - 1, 1, data[size-1:]},
		{"to end", 600, -1, data[600:]},
		{"length past end is shortened", 990, 100, data[990:]},
		{"zero length", 10, 0, nil},
		{"offset at size is empty", size, -1, nil},
		{"offset at size, positive length", size, 5, nil},
	} {
		got, info := read(t, s, key, r.offset, r.length)
		if !bytes.Equal(got, r.want) {
			t.Errorf("%s: Open(%d, %d) read %d bytes, want %d", r.name, r.offset, r.length, len(got), len(r.want))
		}
		if info.Key != key || info.Size != size {
			t.Errorf("%s: Open info = %+v, want key %q and size %d (the whole object)", r.name, info, key, size)
		}
	}
}

func testOpenInvalidRanges(t *testing.T, s storage.Store) {
	const key = "a/range.bin"
	Put(t, s, key, pattern(100))
	for _, r := range []struct{ offset, length int64 }{
		{101, -1}, {101, 1}, {1 << 40, -1}, {-1, -1}, {-1, 10},
	} {
		rc, _, err := s.Open(context.Background(), key, r.offset, r.length)
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, storage.ErrInvalidRange) {
			t.Errorf("Open(%d, %d) error = %v, want ErrInvalidRange", r.offset, r.length, err)
		}
	}
}

func testStat(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const key = "thumbnails/cd/stat.jpg"
	data := pattern(4321)
	before := time.Now().Add(-time.Hour)
	Put(t, s, key, data)
	info, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Key != key || info.Size != int64(len(data)) {
		t.Errorf("Stat = %+v, want key %q and size %d", info, key, len(data))
	}
	if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Hour)) {
		t.Errorf("Stat ModTime = %v, want about now", info.ModTime)
	}
	if len(info.ETag) < 3 || !strings.HasPrefix(info.ETag, `"`) || !strings.HasSuffix(info.ETag, `"`) {
		t.Errorf("Stat ETag = %q, want a quoted strong ETag", info.ETag)
	}
	again, err := s.Stat(ctx, key)
	if err != nil || again.ETag != info.ETag || again.Size != info.Size || !again.ModTime.Equal(info.ModTime) {
		t.Errorf("second Stat = %+v, %v; want %+v", again, err, info)
	}
	_, opened := read(t, s, key, 0, 1)
	if opened.ETag != info.ETag || opened.Size != info.Size {
		t.Errorf("Open info = %+v, want %+v", opened, info)
	}
	listed := list(t, s, "", "")
	if len(listed) != 1 || listed[0].Key != key || listed[0].ETag != info.ETag || listed[0].Size != info.Size {
		t.Errorf("List = %+v, want [%+v]", listed, info)
	}

	Put(t, s, "thumbnails/cd/other.jpg", pattern(4320))
	other, err := s.Stat(ctx, "thumbnails/cd/other.jpg")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if other.ETag == info.ETag {
		t.Errorf("two different objects share ETag %q", info.ETag)
	}
}

func testEmptyObject(t *testing.T, s storage.Store) {
	const key = "empty"
	Put(t, s, key, nil)
	got, info := read(t, s, key, 0, -1)
	if len(got) != 0 || info.Size != 0 {
		t.Errorf("empty object: read %d bytes, info %+v", len(got), info)
	}
	if st, err := s.Stat(context.Background(), key); err != nil || st.Size != 0 {
		t.Errorf("Stat(empty) = %+v, %v", st, err)
	}
	if ks := keys(list(t, s, "", "")); len(ks) != 1 || ks[0] != key {
		t.Errorf("List = %q, want [%q]", ks, key)
	}
}

func testMissing(t *testing.T, s storage.Store) {
	checkMissing(t, s, "missing/key.jpg")
	// A prefix of existing keys is not an object.
	Put(t, s, "dir/sub/x.jpg", pattern(10))
	checkMissing(t, s, "dir")
	checkMissing(t, s, "dir/sub")
	// Neither is a path going through an object.
	checkMissing(t, s, "dir/sub/x.jpg/y")
	if err := s.Delete(context.Background(), "missing/key.jpg"); err != nil {
		t.Errorf("Delete(missing) = %v, want nil", err)
	}
}

func testDelete(t *testing.T, s storage.Store) {
	ctx := context.Background()
	Put(t, s, "d/e/f.jpg", pattern(10))
	Put(t, s, "d/keep.jpg", pattern(11))
	if err := s.Delete(ctx, "d/e/f.jpg"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	checkMissing(t, s, "d/e/f.jpg")
	if ks := keys(list(t, s, "", "")); len(ks) != 1 || ks[0] != "d/keep.jpg" {
		t.Errorf("List after Delete = %q, want [d/keep.jpg]", ks)
	}
	if ks := keys(list(t, s, "d/e", "")); len(ks) != 0 {
		t.Errorf("List(d/e) after Delete = %q, want none", ks)
	}
	if err := s.Delete(ctx, "d/e/f.jpg"); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	// The key can be written again.
	Put(t, s, "d/e/f.jpg", pattern(10))
	checkContent(t, s, "d/e/f.jpg", pattern(10))
}

// testDeleteAll deletes many keys at once, some missing, through the store's batch delete
// when it has one.
func testDeleteAll(t *testing.T, s storage.Store) {
	var doomed, kept []string
	for i := range 12 {
		k := fmt.Sprintf("b/%02d.jpg", i)
		Put(t, s, k, pattern(i+1))
		if i%3 == 0 {
			kept = append(kept, k)
		} else {
			doomed = append(doomed, k)
		}
	}
	if err := storage.DeleteAll(context.Background(), s, append(doomed, "b/missing.jpg", "c/also-missing.jpg")); err != nil {
		t.Fatalf("DeleteAll: %v", err)
	}
	for _, k := range doomed {
		checkMissing(t, s, k)
	}
	if ks := keys(list(t, s, "", "")); !slices.Equal(ks, kept) {
		t.Errorf("List after DeleteAll = %q, want %q", ks, kept)
	}
}

func testDeleteDirectoryLikeKey(t *testing.T, s storage.Store) {
	Put(t, s, "d/x.jpg", pattern(10))
	if err := s.Delete(context.Background(), "d"); err != nil {
		t.Errorf("Delete(d) = %v, want nil (no such object)", err)
	}
	checkContent(t, s, "d/x.jpg", pattern(10))
}

func testCanceledContext(t *testing.T, s storage.Store) {
	const key = "canceled/x.jpg"
	Put(t, s, key, pattern(10))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Stat(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat with canceled context: %v, want context.Canceled", err)
	}
	r, _, err := s.Open(ctx, key, 0, -1)
	if err == nil {
		r.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open with canceled context: %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with canceled context: %v, want context.Canceled", err)
	}
	checkContent(t, s, key, pattern(10))
	if w, err := s.NewWriter(ctx); err == nil {
		w.Abort()
		t.Errorf("NewWriter with canceled context succeeded")
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("NewWriter with canceled context: %v, want context.Canceled", err)
	}
}
