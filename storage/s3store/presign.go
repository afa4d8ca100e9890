package s3store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vitrine-dev/vitrine/storage"
)

// MaxPresignExpiry is the longest validity S3 accepts for a presigned URL.
const MaxPresignExpiry = 7 * 24 * time.Hour

// PresignGet implements storage.Presigner with a SigV4 query-string
// signature. It makes no request.
func (s *Store) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if err := checkPresign(key, expiry); err != nil {
		return "", err
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(expiry))
	if err != nil {
		return "", fmt.Errorf("s3store: presigning GET %q: %w", key, err)
	}
	return req.URL, nil
}

// PresignPut implements storage.Presigner with a SigV4 query-string
// signature. It makes no request. The URL signs no Content-Type, so the
// client may send any; objects put through it lack the Cache-Control that
// Commit sets.
func (s *Store) PresignPut(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if err := checkPresign(key, expiry); err != nil {
		return "", err
	}
	req, err := s.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(expiry))
	if err != nil {
		return "", fmt.Errorf("s3store: presigning PUT %q: %w", key, err)
	}
	return req.URL, nil
}

// checkPresign refuses invalid keys and expiries that S3 would refuse.
func checkPresign(key string, expiry time.Duration) error {
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	if expiry < time.Second || expiry > MaxPresignExpiry {
		return fmt.Errorf("s3store: presigned URL expiry %v is not between 1s and %v", expiry, MaxPresignExpiry)
	}
	return nil
}
