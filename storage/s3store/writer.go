package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/vitrine-dev/vitrine/storage"
)

// cacheControl is set on every object: keys are content hashes, so an object
// never changes.
const cacheControl = "public, max-age=31536000, immutable"

// NewWriter implements storage.Store. The bytes are spooled to a file in
// TempDir, so memory use does not grow with the size of the object, and the
// upload in Commit knows the size and can be retried (the file is
// seekable). The file is unlinked as soon as it is created: it has no name,
// so a crash leaves nothing behind to clean up, and it disappears when the
// writer is committed or aborted.
func (s *Store) NewWriter(ctx context.Context) (storage.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := storage.CreateTemp(s.tempDir, ".vitrine-s3-*")
	if err != nil {
		return nil, fmt.Errorf("s3store: new writer: %w", err)
	}
	return &writer{Spool: storage.NewSpool(f.File, f.Remove), s: s}, nil
}

// writer spools an object to a temporary file and uploads it on Commit.
type writer struct {
	*storage.Spool
	s *Store
}

// Commit uploads the spooled bytes under key: with one PutObject up to
// PartSize bytes, with a multipart upload beyond (aborted if it fails, so
// that no parts are left behind). Either way S3 publishes the object at
// once, complete, when the request succeeds. Each request is retried on its
// own as configured. When an object of the same size already exists under
// key (by content addressing, the same object) nothing is uploaded. The
// spool file is removed whatever happens.
func (w *writer) Commit(ctx context.Context, key string) error {
	return w.Spool.Commit(ctx, key, func(f *os.File, size int64) error { return w.s.put(ctx, key, f, size) })
}

// put uploads size bytes of f under key, unless an object of that size is there already.
func (s *Store) put(ctx context.Context, key string, f *os.File, size int64) error {
	existing, err := s.Stat(ctx, key)
	switch {
	case err == nil && existing.Size == size:
		return nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("s3store: commit %q: %w", key, err)
	}
	contentType := mime.TypeByExtension(path.Ext(key))
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if size <= s.partSize {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &s.bucket, Key: &key,
			Body: io.NewSectionReader(f, 0, size), ContentLength: aws.Int64(size),
			ContentType: &contentType, CacheControl: aws.String(cacheControl),
		})
		if err != nil {
			return s.wrap(ctx, "commit: put", key, err)
		}
		return nil
	}
	return s.putMultipart(ctx, key, f, size, contentType)
}

// putMultipart uploads size bytes of r under key in parts of PartSize bytes
// (more if the object would need more than 10,000 parts), one after the
// other, and aborts the upload if any step fails.
func (s *Store) putMultipart(ctx context.Context, key string, r io.ReaderAt, size int64, contentType string) (err error) {
	partSize := s.partSize
	for (size+partSize-1)/partSize > maxParts {
		partSize *= 2
	}
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, ContentType: &contentType, CacheControl: aws.String(cacheControl),
	})
	if err != nil {
		return s.wrap(ctx, "commit: create multipart upload", key, err)
	}
	uploadID := created.UploadId
	defer func() {
		if err == nil {
			return
		}
		// Abort even when ctx has ended, so that the parts do not linger
		// (and cost) until a lifecycle rule removes them.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, aerr := s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: &s.bucket, Key: &key, UploadId: uploadID,
		}); aerr != nil {
			err = errors.Join(err, fmt.Errorf("s3store: aborting the multipart upload of %q: %w", key, aerr))
		}
	}()
	var parts []types.CompletedPart
	for n, off := int32(1), int64(0); off < size; n, off = n+1, off+partSize {
		length := min(partSize, size-off)
		out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &s.bucket, Key: &key, UploadId: uploadID, PartNumber: aws.Int32(n),
			Body: io.NewSectionReader(r, off, length), ContentLength: aws.Int64(length),
		})
		if err != nil {
			return s.wrap(ctx, fmt.Sprintf("commit: upload part %d of", n), key, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		// A retried completion whose first attempt succeeded (but whose
		// answer was lost) finds no upload: the object is there.
		if errorCode(err) == "NoSuchUpload" {
			if info, serr := s.Stat(ctx, key); serr == nil && info.Size == size {
				return nil
			}
		}
		return s.wrap(ctx, "commit: complete multipart upload", key, err)
	}
	return nil
}
