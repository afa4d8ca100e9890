package gallery

import (
	"errors"
	"fmt"
)

// Code classifies an error for callers; adapters map it to their own vocabulary (HTTP status,
// exit codes) in one place.
type Code string

// The error codes of the domain.
const (
	EINVALID      Code = "invalid"           // the request is malformed or breaks a rule
	ENOTFOUND     Code = "not_found"         // the thing does not exist, or is not visible to the caller
	ECONFLICT     Code = "conflict"          // the request contradicts the current state
	EFORBIDDEN    Code = "forbidden"         // the caller may not do this
	ETOOLARGE     Code = "too_large"         // the body is larger than allowed
	EPIXELS       Code = "too_many_pixels"   // the image declares more pixels than allowed
	ECORRUPT      Code = "corrupt_image"     // the image is recognised but malformed or truncated
	EMEDIATYPE    Code = "unsupported_media" // the body is not an image of a supported type
	EUNAUTHORIZED Code = "unauthorized"      // no valid credentials for a request that needs them
	ERATELIMIT    Code = "rate_limited"      // too many requests; retry later
	EUNSUPPORTED  Code = "not_implemented"   // this deployment cannot do that (e.g. direct uploads on local disk)
	EUNAVAILABLE  Code = "unavailable"       // writes are paused for maintenance, or uploads are at their limit; retry shortly
	ENOTREADY     Code = "variant_not_ready" // the thing exists but is still being made (a thumbnail); retry shortly
	ENOTACCEPT    Code = "not_acceptable"    // none of the representations made is one the client accepts
	EINTERNAL     Code = "internal"          // anything else; its details are logged, never shown
)

// Error is a domain error: a code and a message safe to show to a client.
type Error struct {
	Code    Code
	Message string
	Err     error // the cause, for logs; never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a domain error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first domain error in err's chain, or EINTERNAL.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of the first domain error in err's chain, or a
// generic message for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Transient reports whether err is no fault of the input that met it (the database failed,
// or writes are paused for maintenance): the same input may succeed when tried again later.
func Transient(err error) bool {
	code := ErrorCode(err)
	return code == EINTERNAL || code == EUNAVAILABLE
}
