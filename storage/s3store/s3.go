// Package s3store is a storage.Store kept in a bucket of an S3-compatible
// object store: AWS S3, MinIO, Supabase Storage's S3 endpoint, Cloudflare R2
// or versitygw.
//
// It uses only the common core of the S3 API (GetObject, HeadObject,
// PutObject, multipart uploads, DeleteObject, ListObjectsV2 and presigned
// URLs) through the AWS SDK for Go v2. The SDK rather than minio-go because
// Supabase's endpoint has a path (https://<project>.supabase.co/storage/v1/s3),
// which minio-go refuses by design and the AWS SDK supports.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/vitrine-dev/vitrine/storage"
)

// Defaults of the Config fields left zero.
const (
	DefaultRegion          = "us-east-1"
	DefaultMaxRetries      = 4
	DefaultRetryMaxBackoff = 5 * time.Second
	DefaultResponseTimeout = time.Minute
	DefaultPartSize        = 16 << 20
	// MinPartSize is the smallest part S3 accepts in a multipart upload
	// (except for the last one).
	MinPartSize = 5 << 20
	// maxParts is the most parts S3 accepts in a multipart upload.
	maxParts = 10000
)

// Config says where the bucket is and how to reach it.
type Config struct {
	// Endpoint is the base URL of the S3 API, such as
	// "https://<account>.r2.cloudflarestorage.com",
	// "https://<project>.supabase.co/storage/v1/s3" or
	// "http://127.0.0.1:9000". Empty means AWS S3 in Region.
	Endpoint string
	// Region is the region requests are signed for: the bucket's region on
	// AWS, "auto" on R2, the project's region on Supabase. Empty means
	// DefaultRegion.
	Region string
	// Bucket is the bucket holding the objects. It must exist.
	Bucket string
	// PathStyle addresses the bucket in the path (endpoint/bucket/key)
	// rather than in the host name (bucket.endpoint/key). MinIO, Supabase
	// and versitygw need it; AWS and R2 accept both.
	PathStyle bool

	// AccessKeyID and SecretAccessKey are the static credentials that sign
	// requests; SessionToken is only needed for temporary credentials.
	AccessKeyID, SecretAccessKey, SessionToken string

	// MaxRetries bounds how many times a request that failed in a way
	// worth retrying (a network error, a timeout, 500, 502, 503, 504,
	// SlowDown and other throttling answers) is sent again, with
	// exponential backoff and jitter, before the operation fails. Zero
	// means DefaultMaxRetries; a negative value means no retry.
	MaxRetries int
	// RetryMaxBackoff is the longest wait between two attempts. Zero means
	// DefaultRetryMaxBackoff.
	RetryMaxBackoff time.Duration
	// ResponseTimeout is how long one attempt waits for the answer's
	// headers before it is abandoned (and retried). Zero means
	// DefaultResponseTimeout.
	ResponseTimeout time.Duration

	// TempDir is where writers spool the bytes of objects until Commit.
	// Empty means os.TempDir(). It should be on a disk, not in memory.
	TempDir string
	// PartSize is the size of the parts of a multipart upload; objects of
	// up to PartSize bytes are uploaded with one PutObject. Zero means
	// DefaultPartSize; it may not be less than MinPartSize.
	PartSize int64
	// ListPageSize is how many keys one ListObjectsV2 request asks for.
	// Zero means 1000, the most S3 answers.
	ListPageSize int32
}

// Store is a storage.Store in an S3 bucket. A key is the object's key in the
// bucket, as is.
//
// ETags are those of the server, quoted: the MD5 of the content for objects
// uploaded at once, a digest of the parts' digests for multipart uploads
// (objects larger than PartSize). Modification times are the server's
// LastModified, truncated to whole seconds, the precision of the HTTP
// Last-Modified header, so that Stat, Open and List agree.
//
// Objects are uploaded with the Content-Type of their key's extension and
// "Cache-Control: public, max-age=31536000, immutable", since keys are
// content hashes: served straight from the bucket (a public bucket, a CDN,
// presigned URLs), they behave as Vitrine's own /objects route does.
type Store struct {
	client   *s3.Client
	presign  *s3.PresignClient
	bucket   string
	tempDir  string
	partSize int64
	pageSize int32
}

var (
	_ storage.Store     = (*Store)(nil)
	_ storage.Presigner = (*Store)(nil)
)

// New returns a Store for cfg. It does no I/O; Check verifies that the bucket
// can be reached.
func New(cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3store: no bucket")
	}
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, errors.New("s3store: the access key id and the secret access key are both needed")
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("s3store: endpoint %q is not an http(s) URL without query", cfg.Endpoint)
		}
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < MinPartSize {
		return nil, fmt.Errorf("s3store: part size %d is less than %d", cfg.PartSize, MinPartSize)
	}
	if cfg.ListPageSize <= 0 || cfg.ListPageSize > 1000 {
		cfg.ListPageSize = 1000
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if err := os.MkdirAll(cfg.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("s3store: creating the spool directory: %w", err)
	}
	attempts := 1 + DefaultMaxRetries
	switch {
	case cfg.MaxRetries < 0:
		attempts = 1
	case cfg.MaxRetries > 0:
		attempts = 1 + cfg.MaxRetries
	}
	backoff := cfg.RetryMaxBackoff
	if backoff <= 0 {
		backoff = DefaultRetryMaxBackoff
	}
	timeout := cfg.ResponseTimeout
	if timeout <= 0 {
		timeout = DefaultResponseTimeout
	}

	opts := s3.Options{
		Region:       cfg.Region,
		UsePathStyle: cfg.PathStyle,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{
				AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey,
				SessionToken: cfg.SessionToken, Source: "vitrine configuration",
			}, nil
		}),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = backoff
			o.Backoff = retry.NewExponentialJitterBackoff(backoff)
			// No client-wide retry budget: each operation has its own
			// bounded attempts, and a burst of failures must not make
			// later operations fail without trying.
			o.RateLimiter = ratelimit.None
			o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(retryableTimeout))
		}),
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.ResponseHeaderTimeout = timeout
		}),
		// Checksums only where the API requires them: newer SDKs add CRC
		// trailers (aws-chunked bodies) that not every S3-compatible
		// server accepts. Request bodies are signed with their SHA-256.
		RequestChecksumCalculation:                aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation:                aws.ResponseChecksumValidationWhenRequired,
		DisableLogOutputChecksumValidationSkipped: true,
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(strings.TrimRight(cfg.Endpoint, "/"))
	}
	client := s3.New(opts)
	return &Store{
		client:   client,
		presign:  s3.NewPresignClient(client),
		bucket:   cfg.Bucket,
		tempDir:  cfg.TempDir,
		partSize: cfg.PartSize,
		pageSize: cfg.ListPageSize,
	}, nil
}

// retryableTimeout makes an attempt that timed out waiting for its answer
// retryable, unless the operation's own context ended.
func retryableTimeout(err error) aws.Ternary {
	var timeout interface{ Timeout() bool }
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return aws.UnknownTernary
	}
	if errors.As(err, &timeout) && timeout.Timeout() {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// Check lists at most one key of the bucket, to find out at start-up
// whether the endpoint, the credentials and the bucket are right.
func (s *Store) Check(ctx context.Context) error {
	_, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, MaxKeys: aws.Int32(1)})
	if err != nil {
		return fmt.Errorf("s3store: listing bucket %q: %w", s.bucket, err)
	}
	return nil
}

// Stat implements storage.Store with a HeadObject request.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return storage.ObjectInfo{}, s.wrap(ctx, "stat", key, err)
	}
	return objectInfo(key, aws.ToInt64(out.ContentLength), out.LastModified, out.ETag), nil
}

// Delete implements storage.Store with a DeleteObject request, which S3
// answers with success for a missing key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		if err := s.wrap(ctx, "delete", key, err); !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}

// DeleteBatch implements storage.BatchDeleter with one DeleteObjects request (quiet mode:
// only failures are answered), retried as a whole like every request; deleting a missing key
// succeeds. A key the server could not delete makes it an error naming the first of them.
func (s *Store) DeleteBatch(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if len(keys) > storage.MaxBatchDelete {
		return fmt.Errorf("s3store: delete batch of %d keys: more than %d", len(keys), storage.MaxBatchDelete)
	}
	objects := make([]types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		if err := storage.ValidateKey(k); err != nil {
			return err
		}
		objects[i] = types.ObjectIdentifier{Key: aws.String(k)}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: &s.bucket, Delete: &types.Delete{Objects: objects, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return s.wrap(ctx, "delete batch", keys[0], err)
	}
	for _, e := range out.Errors {
		if aws.ToString(e.Code) == "NoSuchKey" {
			continue
		}
		return fmt.Errorf("s3store: delete batch: %d of %d keys failed, %q first: %s: %s",
			len(out.Errors), len(keys), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
	}
	return nil
}

// objectInfo makes the info of key from the answer of the server.
func objectInfo(key string, size int64, modTime *time.Time, etag *string) storage.ObjectInfo {
	info := storage.ObjectInfo{Key: key, Size: size, ETag: quoteETag(aws.ToString(etag))}
	if modTime != nil {
		info.ModTime = modTime.UTC().Truncate(time.Second)
	}
	return info
}

// quoteETag returns etag with its double quotes, which some servers leave
// out in some answers.
func quoteETag(etag string) string {
	if len(etag) >= 2 && strings.HasPrefix(etag, `"`) && strings.HasSuffix(etag, `"`) {
		return etag
	}
	return `"` + strings.Trim(etag, `"`) + `"`
}

// wrap returns err, the failure of op on key, wrapped with what was being
// done; missing objects wrap storage.ErrNotFound, ranges that the server
// refused storage.ErrInvalidRange, and the end of ctx its error.
func (s *Store) wrap(ctx context.Context, op, key string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("s3store: %s %q: %w (%w)", op, key, cerr, err)
	}
	switch {
	case isNotFound(err):
		return fmt.Errorf("s3store: %s %q: %w", op, key, storage.ErrNotFound)
	case errorCode(err) == "InvalidRange":
		return fmt.Errorf("s3store: %s %q: %w: %w", op, key, storage.ErrInvalidRange, err)
	}
	return fmt.Errorf("s3store: %s %q in bucket %q: %w", op, key, s.bucket, err)
}

// errorCode returns the S3 error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound reports whether err says that the object does not exist.
func isNotFound(err error) bool {
	var noKey *types.NoSuchKey
	var notFound *types.NotFound
	if errors.As(err, &noKey) || errors.As(err, &notFound) {
		return true
	}
	switch errorCode(err) {
	case "NoSuchKey", "NotFound":
		return true
	case "":
		var re interface{ HTTPStatusCode() int }
		return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
	}
	return false
}
