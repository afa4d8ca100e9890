package storage

import "context"

// ReservedPrefix starts the keys that Vitrine writes for its own checks, such as the probe
// object of `vitrine doctor`. No gallery object's key starts with it (those are under
// "originals/" and "variants/"), and the orphan purge never counts or deletes a key that
// does: whoever writes one deletes it.
const ReservedPrefix = "_vitrine"

// Reserved reports whether key is under ReservedPrefix.
func Reserved(key string) bool {
	return len(key) >= len(ReservedPrefix) && key[:len(ReservedPrefix)] == ReservedPrefix
}

// Checker is implemented by stores that can tell cheaply whether they can be reached at all:
// the bucket answers a listing of one key, the directory is still the one opened. Check
// returns nil when the store can be reached, and an error saying what is wrong otherwise.
type Checker interface {
	Check(ctx context.Context) error
}
