package imaging

// #include <glib.h>
import "C"

import (
	"context"
	"log/slog"
)

// vitrineLog receives libvips' GLib log messages (domain "VIPS") and passes them to the
// logger given to the first Start. libvips calls it from its own threads too.
//
//export vitrineLog
func vitrineLog(domain *C.char, level C.int, message *C.char) {
	logger := libvips.logger.Load()
	if logger == nil {
		return
	}
	msg, lvl := C.GoString(message), slogLevel(C.GLogLevelFlags(level))
	if msg == heifNclxIgnored {
		lvl = slog.LevelDebug // handled: see heif.go
	}
	logger.Log(context.Background(), lvl, msg,
		slog.String("library", "libvips"), slog.String("log_domain", C.GoString(domain)))
}

// heifNclxIgnored is libvips 8.14's warning for every HEIF with an nclx colr box, which
// Vitrine reads itself (heif.go): it is logged at debug level, not as a warning per job.
const heifNclxIgnored = "heifload: ignoring nclx profile"

// slogLevel maps a GLib log level to slog's: g_warning, which libvips uses for damaged but
// readable files, becomes a warning, g_message info, and g_info (libvips' trace of each
// operation) and g_debug debug.
func slogLevel(level C.GLogLevelFlags) slog.Level {
	switch {
	case level&(C.G_LOG_LEVEL_ERROR|C.G_LOG_LEVEL_CRITICAL) != 0:
		return slog.LevelError
	case level&C.G_LOG_LEVEL_WARNING != 0:
		return slog.LevelWarn
	case level&C.G_LOG_LEVEL_MESSAGE != 0:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}
