package storage

import (
	"context"
	"time"
)

// Presigner is implemented by stores whose objects can be fetched or written
// directly by clients through time-limited URLs, such as S3-compatible
// stores. Callers check for it with a type assertion on a Store.
//
// A presigned URL carries its own authorization: anyone holding it can use
// it until it expires, so it must be handed only to the client it is meant
// for. Presigning is a local computation: it does not check that the key
// exists (a GET of a missing key fails at the store, with its own 404).
type Presigner interface {
	// PresignGet returns a URL that answers GET with the bytes of key for
	// expiry from now. It returns an error wrapping ErrInvalidKey for a key
	// that ValidateKey refuses, and an error for an expiry the store cannot
	// sign (S3 allows one second to seven days).
	PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error)

	// PresignPut returns a URL that accepts one PUT of the bytes of key for
	// expiry from now. An object written through it bypasses the Writer,
	// and nothing bounds its size or content: the caller must put it under
	// a key of its own (a staging key, not a content hash), check it, and
	// republish it under its content key.
	PresignPut(ctx context.Context, key string, expiry time.Duration) (string, error)
}
