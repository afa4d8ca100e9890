// Package testimages holds what several packages' tests build images from: files of Go's
// source tree (its image testdata and PNG suite), a patterned image, and PNG chunks.
package testimages

import (
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

var goroot = sync.OnceValue(func() string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
})

// GoRoot returns `go env GOROOT`, failing the test when it cannot be found.
func GoRoot(t testing.TB) string {
	t.Helper()
	if goroot() == "" {
		t.Fatal("cannot locate GOROOT with `go env GOROOT`")
	}
	return goroot()
}

// GoRootFiles returns the files matching pattern under GOROOT/src, by base name, and fails
// the test if there are none.
func GoRootFiles(t testing.TB, pattern string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(GoRoot(t), "src", pattern))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no files match GOROOT/src/%s: %v", pattern, err)
	}
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	return files
}

// SortedNames returns the keys of files in order.
func SortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Pattern returns a w×h image with varied colours and alpha.
func Pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 13), uint8(x*y + 3), uint8(255 - (x+y)%64)})
		}
	}
	return img
}

// PNGChunk encodes a PNG chunk with its length and CRC.
func PNGChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}
