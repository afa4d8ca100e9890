package postgres

import (
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vitrine-dev/vitrine/gallery"
)

// vtCodes maps the SQLSTATEs that Vitrine's SQL functions raise to domain error codes. Their
// messages are written by us and are safe to show.
var vtCodes = map[string]gallery.Code{
	"VT404": gallery.ENOTFOUND,
	"VT403": gallery.EFORBIDDEN,
	"VT409": gallery.ECONFLICT,
	"VT422": gallery.EINVALID,
	"VT503": gallery.EUNAVAILABLE,
}

// domainError turns a database error into a domain error where it has a meaning for the
// caller, and otherwise wraps it with what was being done. Raw database messages never reach
// a domain error's Message.
func domainError(doing string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &gallery.Error{Code: gallery.ENOTFOUND, Message: doing + ": not found", Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if code, ok := vtCodes[pgErr.Code]; ok {
			return &gallery.Error{Code: code, Message: pgErr.Message, Err: err}
		}
		switch pgErr.Code {
		case "23505": // unique_violation
			return &gallery.Error{Code: gallery.ECONFLICT, Message: doing + ": already exists", Err: err}
		case "23503": // foreign_key_violation
			return &gallery.Error{Code: gallery.ENOTFOUND, Message: doing + ": a referenced row does not exist", Err: err}
		case "42501": // insufficient_privilege, which row-level security raises for a refused new row
			return &gallery.Error{Code: gallery.EFORBIDDEN, Message: doing + ": not allowed", Err: err}
		case "23514", "22001", "22P02": // check_violation, string too long, invalid text
			return &gallery.Error{Code: gallery.EINVALID, Message: doing + ": invalid value", Err: err}
		case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
			return &gallery.Error{Code: gallery.EINVALID, Message: doing + ": text with a character that cannot be stored (such as NUL)", Err: err}
		case "22003": // numeric_value_out_of_range
			return &gallery.Error{Code: gallery.EINVALID, Message: doing + ": a number is out of range", Err: err}
		case "22023", "22007", "22008": // invalid_parameter_value, invalid_datetime_format, datetime_field_overflow
			return &gallery.Error{Code: gallery.EINVALID, Message: doing + ": invalid value", Err: err}
		}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// int4 checks that n fits a PostgreSQL integer parameter named name, which pgx would
// otherwise refuse to encode with an error that is not the client's to read.
func int4(name string, n int) (int32, error) {
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, gallery.Errorf(gallery.EINVALID, "%s %d is out of range", name, n)
	}
	return int32(n), nil
}

// isUniqueViolation reports whether err is a unique violation of the constraint (or unique
// index) named constraint.
func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}
