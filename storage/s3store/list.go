package s3store

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vitrine-dev/vitrine/storage"
)

// List implements storage.Store with ListObjectsV2, one page (ListPageSize
// keys) at a time: a page is requested only when the previous one has been
// yielded. S3 lists keys in ascending order of their UTF-8 bytes, which for
// valid keys (ASCII) is their byte order; List checks that the server keeps
// to it and fails otherwise. Objects whose keys ValidateKey refuses (put in
// the bucket by other tools, such as "folder/" markers) are skipped.
func (s *Store) List(ctx context.Context, prefix, after string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		if err := storage.ValidatePrefix(prefix); err != nil {
			yield(storage.ObjectInfo{}, err)
			return
		}
		in := &s3.ListObjectsV2Input{Bucket: &s.bucket, MaxKeys: aws.Int32(s.pageSize)}
		if prefix != "" {
			in.Prefix = aws.String(prefix)
		}
		if start := startAfter(after); start != "" && start >= prefix {
			in.StartAfter = aws.String(start)
		}
		last := ""
		for {
			if err := ctx.Err(); err != nil {
				yield(storage.ObjectInfo{}, err)
				return
			}
			out, err := s.client.ListObjectsV2(ctx, in)
			if err != nil {
				yield(storage.ObjectInfo{}, s.wrap(ctx, "list", prefix, err))
				return
			}
			for _, o := range out.Contents {
				key := aws.ToString(o.Key)
				if key <= last && last != "" {
					yield(storage.ObjectInfo{}, fmt.Errorf("s3store: list %q: the server listed %q after %q, out of order", prefix, key, last))
					return
				}
				last = key
				if key <= after || !strings.HasPrefix(key, prefix) || storage.ValidateKey(key) != nil {
					continue
				}
				if !yield(objectInfo(key, aws.ToInt64(o.Size), o.LastModified, o.ETag), nil) {
					return
				}
			}
			if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextContinuationToken) == "" {
				return
			}
			in.ContinuationToken = out.NextContinuationToken
		}
	}
}

// keyBytes are the bytes that valid keys are made of, in ascending order.
const keyBytes = "-./0123456789_abcdefghijklmnopqrstuvwxyz"

// startAfter returns a StartAfter for ListObjectsV2 made only of the bytes of
// keys and '~', such that the valid keys after it are exactly the valid keys
// after after. after may be any string, including invalid UTF-8, which S3
// servers need not accept.
func startAfter(after string) string {
	i := strings.IndexFunc(after, func(r rune) bool { return r >= 0x80 || !strings.ContainsRune(keyBytes, r) })
	if i < 0 {
		return after
	}
	// Keys cannot hold after[i]: the keys after "p"+after[i] are those
	// after p whose next byte is greater than after[i], and those that do
	// not start with p.
	p, c := after[:i], after[i]
	j := strings.LastIndexFunc(keyBytes, func(r rune) bool { return byte(r) < c })
	if j < 0 {
		return p // every key byte is greater than c
	}
	// '~' sorts after every key byte: "p"+keyBytes[j]+"~" comes after
	// every key starting with "p"+keyBytes[j], and before "p"+(the next
	// key byte).
	return p + string(keyBytes[j]) + "~"
}
