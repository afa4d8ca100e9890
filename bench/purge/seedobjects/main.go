// Command seedobjects writes the objects of the purge benchmark: object i is
// originals/<h[:2]>/<h>.jpg with h the hex SHA-256 of the decimal i, the key run.sh's SQL
// gives the rows. Into a local store's directory it writes the files directly, without the
// store's fsyncs, since only the purge is being measured; into a bucket it PUTs them with
// the S3 API, creating the bucket first.
//
//	seedobjects -dir var/objects -n 1000000 [-only-orphans]
//	seedobjects -s3-endpoint http://127.0.0.1:7070 -bucket b -n 100000 (keys from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
package main

import (
	"bytes"
	"context"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func main() {
	dir := flag.String("dir", "", "the local store's directory")
	n := flag.Int("n", 1_000_000, "objects")
	onlyOrphans := flag.Bool("only-orphans", false, "write only the orphans (every 100th object)")
	age := flag.Duration("age", 72*time.Hour, "make the objects this old (local only)")
	endpoint := flag.String("s3-endpoint", "", "S3 endpoint (path-style) instead of -dir")
	bucket := flag.String("bucket", "", "the bucket, with -s3-endpoint")
	flag.Parse()
	body := make([]byte, 1024)
	var write func(key string) error
	switch {
	case *endpoint != "" && *bucket != "":
		client := s3.New(s3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(*endpoint), UsePathStyle: true,
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}, nil
			}),
		})
		ctx := context.Background()
		if !*onlyOrphans {
			if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
				fail(err)
			}
		}
		write = func(key string) error {
			_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: &key, Body: bytes.NewReader(body)})
			return err
		}
	case *dir != "":
		for i := range 256 {
			if err := os.MkdirAll(filepath.Join(*dir, "originals", fmt.Sprintf("%02x", i)), 0o755); err != nil {
				fail(err)
			}
		}
		when := time.Now().Add(-*age)
		write = func(key string) error {
			path := filepath.Join(*dir, filepath.FromSlash(key))
			err := os.WriteFile(path, body, 0o644)
			if err == nil {
				err = os.Chtimes(path, when, when)
			}
			return err
		}
	default:
		fmt.Fprintln(os.Stderr, "seedobjects: -dir or -s3-endpoint and -bucket are required")
		os.Exit(2)
	}
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
				if err := write("originals/" + h[:2] + "/" + h + ".jpg"); err != nil {
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
		fail(err)
	default:
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "seedobjects:", err)
	os.Exit(1)
}
