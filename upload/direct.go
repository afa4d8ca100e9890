package upload

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/storage"
)

// Direct is a direct upload as its client sees it: where to PUT the file, until when.
type Direct struct {
	gallery.Upload
	URL string // the presigned PUT URL of the staging object
}

// StartDirect starts a direct upload to a product's gallery: the client PUTs its file to the
// returned URL, straight to the object store, then calls CompleteDirect. Only stores that can
// presign URLs (S3 and its kin) allow it; on local disk it is an EUNSUPPORTED error. The
// caller must be allowed to change the product's gallery.
func (s *Service) StartDirect(ctx context.Context, productID uuid.UUID, alt string) (Direct, error) {
	p, ok := s.Store.(storage.Presigner)
	if !ok {
		return Direct{}, gallery.Errorf(gallery.EUNSUPPORTED, "direct uploads need an S3-compatible object store; upload through POST /v1/products/{product_id}/images instead")
	}
	up, err := s.Gallery.CreateUpload(ctx, productID, alt, s.DirectTTL)
	if err != nil {
		return Direct{}, err
	}
	url, err := p.PresignPut(ctx, up.ObjectKey, s.DirectTTL)
	if err != nil {
		return Direct{}, fmt.Errorf("presigning upload %s: %w", up.ID, err)
	}
	return Direct{Upload: up, URL: url}, nil
}

// CompleteDirect checks the object a client put for direct upload id exactly as a normal
// upload is checked (size, type from magic bytes, pixels from the header before any pixel
// data, structure to the end, metadata stripped unless KeepMetadata), publishes it under its
// content key and appends it to the gallery, in the same transaction as a normal upload,
// which also removes the upload. Nothing is put yet: ECONFLICT, and the client may PUT and
// complete again. A refused file ends the upload (its staging object is deleted by the
// workers) with the same error a normal upload would get. A second completion is not found.
func (s *Service) CompleteDirect(ctx context.Context, id uuid.UUID) (gallery.Image, error) {
	up, err := s.Gallery.Upload(ctx, id)
	if err != nil {
		return gallery.Image{}, err
	}
	info, err := s.Store.Stat(ctx, up.ObjectKey)
	if errors.Is(err, storage.ErrNotFound) {
		return gallery.Image{}, gallery.Errorf(gallery.ECONFLICT, "nothing was uploaded for upload %s yet: PUT the file to its upload_url first", id)
	}
	if err != nil {
		return gallery.Image{}, fmt.Errorf("checking the object of upload %s: %w", id, err)
	}
	refuse := func(err error) (gallery.Image, error) {
		var ge *gallery.Error
		if errors.As(err, &ge) && ge.Code != gallery.EINTERNAL {
			if cerr := s.Gallery.CancelUpload(ctx, id); cerr != nil {
				return gallery.Image{}, errors.Join(err, cerr)
			}
		}
		return gallery.Image{}, err
	}
	if info.Size > s.MaxBytes {
		return refuse(gallery.Errorf(gallery.ETOOLARGE, "the file is larger than %d bytes", s.MaxBytes))
	}
	rc, _, err := s.Store.Open(ctx, up.ObjectKey, 0, -1)
	if err != nil {
		return gallery.Image{}, fmt.Errorf("reading the object of upload %s: %w", id, err)
	}
	defer rc.Close()
	body := &storeReader{r: rc}
	rec, err := s.Receive(ctx, body)
	if body.err != nil {
		// The store failed, not the file: keep the upload for another try.
		return gallery.Image{}, fmt.Errorf("reading the object of upload %s: %w", id, body.err)
	}
	if err != nil {
		return refuse(err)
	}
	return s.add(ctx, up.ProductID, rec, up.Alt, up.ID)
}

// storeReader remembers a read error of the store, which Receive would report as an
// interrupted upload.
type storeReader struct {
	r   io.Reader
	err error
}

func (r *storeReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
