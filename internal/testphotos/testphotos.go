// Package testphotos gives tests (and `vitrine loadtest`) real photographs without committing
// them: it downloads
// Debian packages of desktop backgrounds with apt-get, unpacks them into a cache directory
// shared by all test binaries, and returns paths inside it.
//
// The cache is $VITRINE_TESTDATA_CACHE, or $HOME/.cache/vitrine-testdata. The first use
// needs apt-get, dpkg and a reachable Debian mirror; a failure fails the test (it is never
// skipped). Test binaries running in parallel take a file lock, so a package is fetched
// once, and a half-done fetch is never seen: it is renamed into place when complete.
package testphotos

import (
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// MATEBackgrounds is the Debian package (bookworm: mate-backgrounds 1.26.0-1, 47 MB) the
// photographs come from.
const MATEBackgrounds = "mate-backgrounds"

const mateDir = "usr/share/backgrounds/mate/"

// Large returns a 5120×2880 (14.7 MP) baseline JPEG of a real photograph: the centre of
// LargeOriginal, re-encoded once by Go's image/jpeg at quality 92 with 4:2:0 chroma, as a
// camera would write it, without metadata. It is made on first use and kept in the cache.
func Large(t testing.TB) string {
	t.Helper()
	return derived(t, "elephants-5120x2880-q92.jpg", func(dst string) error {
		return cropJPEG(LargeOriginal(t), dst, 5120, 2880, 92)
	})
}

// LargeOriginal returns a 5640×3172 (17.9 MP) progressive JPEG, 16 MB: a photograph of a
// painting taken with a Sony DSC-RX100M4, with its camera EXIF. Progressive JPEGs are the
// costliest to decode, so this is the worst case for time and memory.
func LargeOriginal(t testing.TB) string {
	t.Helper()
	return Path(t, MATEBackgrounds, mateDir+"abstract/Elephants_5640x3172.jpg")
}

// Medium returns a 1680×1050 JPEG photograph from a Canon EOS camera (grass in front of a
// blue sea and sky), 1 MB, with camera EXIF, orientation 1. Its top is blue and its bottom
// yellow, which makes a wrong rotation easy to see.
func Medium(t testing.TB) string {
	t.Helper()
	return Path(t, MATEBackgrounds, mateDir+"nature/Dune.jpg")
}

// Photographs returns the paths of the photographs of MATEBackgrounds' nature folder: 12
// JPEGs from cameras, 80 KB to 1.2 MB, 1280×1024 to 2560×1920, in a stable order. It fetches the
// package on first use.
func Photographs() ([]string, error) {
	root, err := unpacked(MATEBackgrounds)
	if err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(root, mateDir, "nature", "*.jpg"))
	if err == nil && len(paths) == 0 {
		err = fmt.Errorf("package %s has no photographs under %snature", MATEBackgrounds, mateDir)
	}
	return paths, err
}

// Path returns the path of file, a path relative to the root of Debian package pkg's
// contents (such as "usr/share/backgrounds/mate/nature/Dune.jpg"), downloading and
// unpacking pkg into the cache on first use. The test fails if that cannot be done or the
// package has no such file.
func Path(t testing.TB, pkg, file string) string {
	t.Helper()
	root, err := unpacked(pkg)
	if err != nil {
		t.Fatalf("testphotos: %v", err)
	}
	path := filepath.Join(root, filepath.FromSlash(file))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("testphotos: package %s has no %s: %v", pkg, file, err)
	}
	return path
}

// Dir returns the cache directory.
func Dir() (string, error) {
	if dir := os.Getenv("VITRINE_TESTDATA_CACHE"); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the test data cache: set VITRINE_TESTDATA_CACHE: %w", err)
	}
	return filepath.Join(home, ".cache", "vitrine-testdata"), nil
}

// unpacked returns the directory holding pkg's unpacked contents, fetching it if needed.
func unpacked(pkg string) (string, error) {
	cache, err := Dir()
	if err != nil {
		return "", err
	}
	root := filepath.Join(cache, "packages", pkg)
	err = once(cache, root, "package-"+pkg, func(tmp string) error {
		if err := run(tmp, "apt-get", "download", pkg); err != nil {
			return err
		}
		debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
		if len(debs) != 1 {
			return fmt.Errorf("apt-get download %s left %d .deb files", pkg, len(debs))
		}
		if err := run(tmp, "dpkg", "-x", debs[0], "root"); err != nil {
			return err
		}
		if err := os.Remove(debs[0]); err != nil {
			return err
		}
		return os.Rename(filepath.Join(tmp, "root"), filepath.Join(tmp, "result"))
	})
	if err != nil {
		return "", fmt.Errorf("fetching Debian package %s: %w", pkg, err)
	}
	return root, nil
}

// derived returns the path of a file made from other test data by makeFile, making it on
// first use.
func derived(t testing.TB, name string, makeFile func(dst string) error) string {
	t.Helper()
	cache, err := Dir()
	if err != nil {
		t.Fatalf("testphotos: %v", err)
	}
	path := filepath.Join(cache, "derived", name)
	err = once(cache, path, "derived-"+name, func(tmp string) error {
		return makeFile(filepath.Join(tmp, "result"))
	})
	if err != nil {
		t.Fatalf("testphotos: making %s: %v", name, err)
	}
	return path
}

// once makes final (a file or directory) unless it exists. Holding an exclusive lock on a
// lock file named after it, build makes "result" in a new temporary directory inside
// cache, which is then renamed to final, so no reader ever sees a partial result.
func once(cache, final, lockName string, build func(tmp string) error) error {
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(cache, "locks"), 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(cache, "locks", lockName+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	if _, err := os.Stat(final); err == nil { // made while we waited
		return nil
	}
	tmp, err := os.MkdirTemp(cache, "tmp-"+lockName+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// apt-get downloads as the unprivileged _apt user when it can read the directory.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := build(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	return os.Rename(filepath.Join(tmp, "result"), final)
}

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// cropJPEG writes the centre width×height of the JPEG at src to dst as a baseline JPEG.
func cropJPEG(src, dst string, width, height, quality int) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		return fmt.Errorf("decoding %s: %w", src, err)
	}
	b := img.Bounds()
	if b.Dx() < width || b.Dy() < height {
		return fmt.Errorf("%s is %dx%d, smaller than %dx%d", src, b.Dx(), b.Dy(), width, height)
	}
	x, y := b.Min.X+(b.Dx()-width)/2, b.Min.Y+(b.Dy()-height)/2
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return errors.New("decoded image cannot be cropped")
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(out, sub.SubImage(image.Rect(x, y, x+width, y+height)), &jpeg.Options{Quality: quality}); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
