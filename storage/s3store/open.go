package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vitrine-dev/vitrine/storage"
)

// Open implements storage.Store with one GetObject request, with a Range
// header unless the whole object is asked for. S3 refuses a range that
// starts at the object's size (416), so when it does, a HeadObject request
// tells an offset equal to the size (an empty reader) from one beyond it
// (storage.ErrInvalidRange). A zero length is answered from a HeadObject
// alone. The object's size comes from the Content-Range of the answer; a
// server that ignores the Range header and sends the whole object is
// handled too, by skipping the bytes before offset.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	if offset < 0 {
		return nil, storage.ObjectInfo{}, fmt.Errorf("s3store: open %q: %w: offset %d", key, storage.ErrInvalidRange, offset)
	}
	if length == 0 {
		return s.openEmpty(ctx, key, offset)
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}
	if length > math.MaxInt64-offset {
		length = -1
	}
	switch {
	case length > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, gerr := s.client.GetObject(ctx, in)
	if gerr != nil {
		err := s.wrap(ctx, "open", key, gerr)
		if !errors.Is(err, storage.ErrInvalidRange) {
			return nil, storage.ObjectInfo{}, err
		}
		info, serr := s.Stat(ctx, key)
		switch {
		case serr != nil:
			return nil, storage.ObjectInfo{}, serr
		case offset == info.Size:
			return io.NopCloser(strings.NewReader("")), info, nil
		case offset > info.Size:
			return nil, storage.ObjectInfo{}, fmt.Errorf("s3store: open %q: %w: offset %d, size %d", key, storage.ErrInvalidRange, offset, info.Size)
		}
		// A range within the object that the server refused.
		return nil, storage.ObjectInfo{}, fmt.Errorf("s3store: open %q: the server refused the range at %d of %d bytes: %w", key, offset, info.Size, gerr)
	}
	size := aws.ToInt64(out.ContentLength)
	ranged := false
	if total, ok := contentRangeTotal(aws.ToString(out.ContentRange)); ok {
		size, ranged = total, true
	}
	info := objectInfo(key, size, out.LastModified, out.ETag)
	body := out.Body
	if !ranged && offset > 0 {
		// The server sent the whole object.
		if offset > size {
			body.Close()
			return nil, storage.ObjectInfo{}, fmt.Errorf("s3store: open %q: %w: offset %d, size %d", key, storage.ErrInvalidRange, offset, size)
		}
		if _, err := io.CopyN(io.Discard, body, offset); err != nil {
			body.Close()
			return nil, storage.ObjectInfo{}, s.wrap(ctx, "open", key, err)
		}
	}
	if length < 0 || length > size-offset {
		length = size - offset
	}
	return &limitedBody{Reader: io.LimitReader(body, length), body: body}, info, nil
}

// openEmpty answers Open for a range of no bytes at offset: an empty reader
// when offset is at most the object's size, storage.ErrInvalidRange beyond.
func (s *Store) openEmpty(ctx context.Context, key string, offset int64) (io.ReadCloser, storage.ObjectInfo, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	if offset > info.Size {
		return nil, storage.ObjectInfo{}, fmt.Errorf("s3store: open %q: %w: offset %d, size %d", key, storage.ErrInvalidRange, offset, info.Size)
	}
	return io.NopCloser(strings.NewReader("")), info, nil
}

// contentRangeTotal returns the complete length of a Content-Range header
// such as "bytes 0-99/1000", and whether there was one.
func contentRangeTotal(h string) (int64, bool) {
	_, total, ok := strings.Cut(h, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	return n, err == nil && n >= 0
}

// limitedBody reads at most the asked-for bytes of an answer's body and
// closes the body.
type limitedBody struct {
	io.Reader
	body io.Closer
}

func (b *limitedBody) Close() error { return b.body.Close() }
