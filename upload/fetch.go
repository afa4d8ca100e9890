package upload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/safehttp"
)

// FetchImport fetches the original of image imageID from sourceURL with ImportClient, within
// ImportTimeout, and runs the body through Receive, the very checks of an upload (size while
// streaming, type from magic bytes, pixels from the header, structure, metadata stripped);
// then it publishes the original and records it on the image (Gallery.PublishImport), whose
// thumbnail job is enqueued then as an upload's is.
//
// A failure of the source or of its bytes is recorded on the image (Gallery.FailImport) with
// its code, and FetchImport returns nil: retrying cannot help until someone fixes the source.
// A failure of Vitrine's own (the database, the object store) is returned, to be retried,
// unless final is set (the last attempt): then it is recorded too, as an internal error. An
// image deleted or imported again meanwhile is left alone. Whatever happens, nothing is left
// in the store but a published original.
func (s *Service) FetchImport(ctx context.Context, imageID uuid.UUID, sourceURL string, final bool) error {
	if s.ImportClient == nil {
		return errors.New("fetching an import: the server has no import client")
	}
	fail := func(code gallery.ImportFailure, format string, args ...any) error {
		err := s.Gallery.FailImport(ctx, imageID, sourceURL, gallery.ImportError{Code: code, Message: fmt.Sprintf(format, args...)})
		if gallery.ErrorCode(err) == gallery.ECONFLICT {
			return nil // deleted, or imported again, meanwhile
		}
		return err
	}
	if err := CheckSourceURL(sourceURL); err != nil {
		return fail(gallery.ImportBadScheme, "%s", gallery.ErrorMessage(err))
	}
	timeout := s.ImportTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	fetchCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rec, err := s.fetch(fetchCtx, sourceURL)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // the job itself was stopped: River runs it again
		}
		if fetchCtx.Err() != nil {
			return fail(gallery.ImportTimeout, "the source did not send the whole image within %s", timeout)
		}
		var ie *importError
		if errors.As(err, &ie) {
			return fail(ie.code, "%s", ie.msg)
		}
		if code := gallery.ErrorCode(err); code != gallery.EINTERNAL {
			return fail(gallery.ImportFailure(code), "%s", gallery.ErrorMessage(err))
		}
		if final {
			if ferr := fail(gallery.ImportInternal, "the import failed inside Vitrine; retry it"); ferr != nil {
				return errors.Join(err, ferr)
			}
		}
		return err
	}
	defer rec.Discard()
	im, publish := s.original(rec)
	im.ID = imageID
	err = s.Gallery.PublishImport(ctx, im, sourceURL, publish)
	if gallery.ErrorCode(err) == gallery.ECONFLICT {
		return nil
	}
	if err != nil && final {
		if ferr := fail(gallery.ImportInternal, "the import failed inside Vitrine; retry it"); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	return err
}

// importError is a failure of the source, with the code and message the image records.
type importError struct {
	code gallery.ImportFailure
	msg  string
	err  error
}

func (e *importError) Error() string { return fmt.Sprintf("%s: %s: %v", e.code, e.msg, e.err) }
func (e *importError) Unwrap() error { return e.err }

// fetch GETs sourceURL and receives its body. Its errors are an *importError for the
// source's failures, Receive's domain errors for the body's, or an internal error.
func (s *Service) fetch(ctx context.Context, sourceURL string) (*Received, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sourceURL, nil)
	if err != nil {
		return nil, &importError{gallery.ImportBadScheme, "the source URL cannot be requested", err}
	}
	req.Header.Set("Accept", "image/jpeg, image/png, image/webp, image/gif")
	resp, err := s.ImportClient.Do(req)
	if err != nil {
		return nil, fetchError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &importError{gallery.ImportSourceStatus, fmt.Sprintf("the source answered %s", resp.Status), nil}
	}
	if resp.ContentLength > s.MaxBytes {
		return nil, gallery.Errorf(gallery.ETOOLARGE, "the file is larger than %d bytes", s.MaxBytes)
	}
	rec, err := s.Receive(ctx, resp.Body)
	if gallery.ErrorCode(err) == gallery.EINVALID {
		// Receive's only EINVALID: the body's stream broke.
		return nil, &importError{gallery.ImportUnreachable, "the source's connection broke before the end of the image", err}
	}
	return rec, err
}

// fetchError classifies an error of the client's request.
func fetchError(err error) error {
	var netErr net.Error
	switch {
	case errors.Is(err, safehttp.ErrForbiddenAddress):
		return &importError{gallery.ImportForbiddenAddress, "the source, or a redirect, is at an address Vitrine may not reach", err}
	case errors.Is(err, safehttp.ErrTooManyRedirects):
		return &importError{gallery.ImportTooManyRedirects, "the source redirected too many times", err}
	case errors.Is(err, safehttp.ErrScheme):
		return &importError{gallery.ImportBadScheme, "the source redirected to a URL that is not http or https, or has credentials", err}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return &importError{gallery.ImportTimeout, "the source did not answer in time", err}
	default:
		return &importError{gallery.ImportUnreachable, "the source could not be reached", err}
	}
}
