package localfs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/vitrine-dev/vitrine/storage"
)

// BenchmarkLocalPut measures writing and committing new 1 MiB objects,
// fsyncs included.
func BenchmarkLocalPut(b *testing.B) {
	ctx := context.Background()
	l := newLocal(b, b.TempDir())
	data := bytes.Repeat([]byte("vitrine!"), 1<<20/8)
	b.SetBytes(int64(len(data)))
	var i uint64
	for b.Loop() {
		i++
		binary.LittleEndian.PutUint64(data, i) // a distinct object each time
		sum := sha256.Sum256(data)
		if err := storage.Put(ctx, l, storage.ContentKey("originals", sum[:], "bin"), data); err != nil {
			b.Fatal(err)
		}
	}
}
