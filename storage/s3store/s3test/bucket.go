package s3test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vitrine-dev/vitrine/storage/s3store"
)

// buckets counts the buckets made by this test binary, to name them.
var buckets atomic.Int64

// Client returns a plain S3 client of the gateway, for tests to look at the
// bucket without going through the store under test.
func (g *Gateway) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       g.Region,
		BaseEndpoint: aws.String(g.Endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: g.AccessKey, SecretAccessKey: g.SecretKey}, nil
		}),
	})
}

// NewBucket creates a bucket that no other test uses and returns its name.
// Buckets are not removed: they go with the gateway's directory when the
// test binary ends.
func (g *Gateway) NewBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("vt-%d-%s", buckets.Add(1), randomHex(4))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := g.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("s3test: creating bucket %s: %v", name, err)
	}
	return name
}

// Config returns the configuration of a store over bucket, through the
// gateway, spooling to a temporary directory of t, with short retry
// backoffs so that retried failures do not slow tests down.
func (g *Gateway) Config(t testing.TB, bucket string) s3store.Config {
	return s3store.Config{
		Endpoint: g.Endpoint, Region: g.Region, Bucket: bucket, PathStyle: true,
		AccessKeyID: g.AccessKey, SecretAccessKey: g.SecretKey,
		RetryMaxBackoff: 20 * time.Millisecond,
		TempDir:         t.TempDir(),
	}
}

// NewConfig starts the gateway if needed, creates a fresh bucket and returns
// the configuration of a store over it.
func NewConfig(t testing.TB) s3store.Config {
	t.Helper()
	g := Start(t)
	return g.Config(t, g.NewBucket(t))
}

// NewStore returns a store over a fresh bucket of the gateway.
func NewStore(t testing.TB) *s3store.Store {
	t.Helper()
	s, err := s3store.New(NewConfig(t))
	if err != nil {
		t.Fatalf("s3store.New: %v", err)
	}
	return s
}
