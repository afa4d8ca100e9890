package imaging

/*
#cgo pkg-config: vips
#include <vips/vips.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// ErrUndecodable reports an original that libvips cannot decode: not an image, a format
// that is not accepted, or a damaged or truncated file. It is permanent: retrying the same
// bytes won't help. The error returned wraps it together with libvips' message.
var ErrUndecodable = errors.New("image cannot be decoded")

// ErrTooLarge reports an original with more pixels than Config.MaxPixels. It is permanent,
// and an error wrapping it wraps ErrUndecodable too: to a caller deciding whether to retry,
// an image too large to decode is one that cannot be decoded.
var ErrTooLarge = errors.New("image has too many pixels")

// ErrClosed is returned by Process and ProcessFile after Processor.Close.
var ErrClosed = errors.New("imaging: processor closed")

// vipsErrorMessage takes and clears libvips' error buffer. libvips has one buffer for the
// whole process, so under concurrent jobs a message can include another job's error; it is
// meant for logs, never for a client.
func vipsErrorMessage() string {
	buf := C.vips_error_buffer_copy()
	defer C.g_free(C.gpointer(unsafe.Pointer(buf)))
	msg := strings.TrimSpace(C.GoString(buf))
	if msg == "" {
		return "libvips gave no message"
	}
	return strings.ReplaceAll(msg, "\n", "; ")
}

// undecodable wraps ErrUndecodable with what was being done and libvips' message.
func undecodable(doing string) error {
	return fmt.Errorf("imaging: %s: %w: %s", doing, ErrUndecodable, vipsErrorMessage())
}

// vipsFailed reports a libvips failure that is not the original's fault, such as an
// encoder error; a retry may succeed.
func vipsFailed(doing string) error {
	return fmt.Errorf("imaging: %s: libvips: %s", doing, vipsErrorMessage())
}
