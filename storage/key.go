package storage

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// MaxKeyLen is the maximum length of a key in bytes.
const MaxKeyLen = 512

// ValidateKey reports whether key is a safe object key: non-empty, at most
// MaxKeyLen bytes, made of segments separated by single '/', each segment
// made of [a-z0-9._-] only, with no leading or trailing slash and no
// segment starting with '.' (which rules out "." and ".." and keeps names
// starting with a dot free for temporary files). It returns nil for a
// valid key and an error wrapping ErrInvalidKey otherwise.
//
// A valid key is also a valid relative path on every supported platform,
// and joining it under a directory never leaves that directory.
func ValidateKey(key string) error {
	if reason := checkKey(key); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, reason)
	}
	return nil
}

// ValidatePrefix reports whether prefix is a valid List prefix: empty, or a
// valid key, or a valid key followed by a single '/'. It returns nil for a
// valid prefix and an error wrapping ErrInvalidKey otherwise.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if reason := checkKey(strings.TrimSuffix(prefix, "/")); reason != "" {
		return fmt.Errorf("%w: prefix %q: %s", ErrInvalidKey, prefix, reason)
	}
	return nil
}

// checkKey returns why key is invalid, or "" if it is valid.
func checkKey(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > MaxKeyLen:
		return fmt.Sprintf("longer than %d bytes", MaxKeyLen)
	}
	start := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '/' {
			if !validKeyByte(key[i]) {
				return fmt.Sprintf("byte %#02x at %d is not in [a-z0-9._-/]", key[i], i)
			}
			continue
		}
		// key[start:i] is a segment.
		switch {
		case i == start:
			return "empty segment (leading, trailing or double slash)"
		case key[start] == '.':
			return "segment starts with '.'"
		}
		start = i + 1
	}
	return ""
}

// ValidSegment reports whether name can be one segment of a valid key. A backend that maps
// keys to paths skips the entries that no key can name.
func ValidSegment(name string) bool {
	if name == "" || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !validKeyByte(name[i]) {
			return false
		}
	}
	return true
}

func validKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// ContentKey returns the content-addressed key for the digest sum (normally
// a SHA-256): prefix + "/" + hex[:2] + "/" + hex + "." + ext, where hex is
// the lower-case hexadecimal encoding of sum. An empty ext gives a key
// without the dot, and an empty prefix a key without the leading prefix
// and slash. ext is used as given, so it should be lower case and without
// a leading dot (for example "jpg"). ContentKey panics if sum is empty.
func ContentKey(prefix string, sum []byte, ext string) string {
	if len(sum) == 0 {
		panic("storage: ContentKey called with an empty digest")
	}
	h := hex.EncodeToString(sum)
	var b strings.Builder
	b.Grow(len(prefix) + 4 + len(h) + len(ext))
	if prefix != "" {
		b.WriteString(prefix)
		b.WriteByte('/')
	}
	b.WriteString(h[:2])
	b.WriteByte('/')
	b.WriteString(h)
	if ext != "" {
		b.WriteByte('.')
		b.WriteString(ext)
	}
	return b.String()
}
