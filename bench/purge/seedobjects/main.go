// Command seedobjects writes the objects of the purge benchmark straight into a local
// object store's directory: object i is originals/<h[:2]>/<h>.jpg with h the hex SHA-256 of
// the decimal i, the key run.sh's SQL gives the rows. It writes the files directly, without
// the store's fsyncs, since only the purge is being measured.
//
//	seedobjects -dir var/objects -n 1000000 [-only-orphans]
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"
)

func main() {
	dir := flag.String("dir", "", "the local store's directory")
	n := flag.Int("n", 1_000_000, "objects")
	onlyOrphans := flag.Bool("only-orphans", false, "write only the orphans (every 100th object)")
	age := flag.Duration("age", 72*time.Hour, "make the objects this old")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "seedobjects: -dir is required")
		os.Exit(2)
	}
	for i := range 256 {
		if err := os.MkdirAll(filepath.Join(*dir, "originals", fmt.Sprintf("%02x", i)), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "seedobjects:", err)
			os.Exit(1)
		}
	}
	when := time.Now().Add(-*age)
	body := make([]byte, 1024)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	workers := runtime.NumCPU() * 4
	for w := range workers {
		wg.Go(func() {
			for i := w; i < *n; i += workers {
				if *onlyOrphans && i%100 != 0 {
					continue
				}
				sum := sha256.Sum256([]byte(strconv.Itoa(i)))
				h := hex.EncodeToString(sum[:])
				path := filepath.Join(*dir, "originals", h[:2], h+".jpg")
				err := os.WriteFile(path, body, 0o644)
				if err == nil {
					err = os.Chtimes(path, when, when)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		fmt.Fprintln(os.Stderr, "seedobjects:", err)
		os.Exit(1)
	default:
	}
}
