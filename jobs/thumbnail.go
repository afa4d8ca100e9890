package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/imaging"
	"github.com/vitrine-dev/vitrine/storage"
)

// VariantsPrefix is the key prefix of thumbnail variants in the object store.
const VariantsPrefix = "variants"

// ThumbnailDB is what ThumbnailWorker needs of the database; the PostgreSQL adapter
// implements it.
type ThumbnailDB interface {
	// Image returns an image with its thumbnail status, or a not-found error.
	Image(ctx context.Context, id uuid.UUID) (gallery.Image, error)
	// ThumbnailsFor returns the policy that says which images get thumbnails.
	ThumbnailsFor() gallery.ThumbnailsFor
	// RecordThumbnails attaches a job's variants to the image it was made for, if that image
	// still has the job's source and still wants them, and says what it did.
	RecordThumbnails(ctx context.Context, target gallery.ThumbnailTarget, th gallery.Thumbnails,
		defaultFormat string, ensure func(context.Context) error) (gallery.RecordOutcome, error)
	// QueueObjectDeletes sends keys to the object outbox and enqueues a drain.
	QueueObjectDeletes(ctx context.Context, keys []string) error
	StatusDB
}

// ThumbnailWorker makes an image's variants and records them on that image only.
type ThumbnailWorker struct {
	river.WorkerDefaults[ThumbnailArgs]
	DB            ThumbnailDB
	Store         storage.Store
	Imaging       *imaging.Processor
	Presets       []gallery.Preset
	Formats       []imaging.Format
	DefaultFormat imaging.Format // its URLs fill the legacy design's thumbnails column
	ObjectURL     func(key string) string
	Logger        *slog.Logger
}

// Work loads the original once, makes every preset in every format, stores the variants under
// content-addressed keys (so a retry writes no new objects) and records them with one
// conditional UPDATE keyed by the image and its source hash. A job whose image is gone, has
// another original, or no longer needs thumbnails completes as a no-op, with the reason
// logged. An original that cannot be decoded cancels the job at once, its error recorded and
// gallery.FailureUndecodable recorded as its output.
func (w *ThumbnailWorker) Work(ctx context.Context, job *river.Job[ThumbnailArgs]) (err error) {
	ctx = gallery.WithCaller(ctx, gallery.Service())
	target := gallery.ThumbnailTarget{ImageID: job.Args.ImageID, SourceSHA256: job.Args.SourceSHA256, Replace: job.Args.Replace}
	log := w.Logger.With("job_id", job.ID, "image_id", target.ImageID, "attempt", job.Attempt)
	im, err := w.DB.Image(ctx, target.ImageID)
	switch {
	case gallery.ErrorCode(err) == gallery.ENOTFOUND:
		log.InfoContext(ctx, "thumbnail job has nothing to do", "reason", gallery.ImageGone)
		return nil
	case err != nil:
		return err
	case im.SHA256 != target.SourceSHA256:
		log.InfoContext(ctx, "thumbnail job has nothing to do", "reason", gallery.SourceChanged)
		return nil
	case im.Status == gallery.StatusReady && !target.Replace:
		log.InfoContext(ctx, "thumbnail job has nothing to do", "reason", gallery.AlreadyComplete)
		return nil
	case !w.DB.ThumbnailsFor().Wants(im.Order):
		log.InfoContext(ctx, "thumbnail job has nothing to do", "reason", gallery.NotMain)
		return nil
	}

	// The image is now "processing": tell the streams of its product. A failure to say so
	// only delays what they show until the next event.
	if err := w.DB.RecordImageStatus(ctx, target.ImageID); err != nil {
		log.WarnContext(ctx, "recording a thumbnail status event", "error", err)
	}

	original, err := w.readOriginal(ctx, im.StoragePath)
	if err != nil {
		return err
	}
	res, err := w.Imaging.Process(ctx, original, toImagingPresets(w.Presets), w.Formats)
	if errors.Is(err, imaging.ErrUndecodable) {
		log.WarnContext(ctx, "original cannot be decoded", "error", err)
		if oerr := river.RecordOutput(ctx, ThumbnailOutput{Failure: gallery.FailureUndecodable}); oerr != nil {
			return fmt.Errorf("recording the failure of an undecodable original: %w", oerr)
		}
		return river.JobCancel(fmt.Errorf("%s: %w", gallery.UndecodableMessage, err))
	}
	if err != nil {
		return fmt.Errorf("making thumbnails: %w", err)
	}
	th, objects := w.describe(res)
	defer func() {
		if err != nil && ctx.Err() != nil {
			// Superseded (or stopped) midway: what this attempt stored may be named by no row.
			// The drain deletes only what no row refers to, and a retry stores it again.
			w.forget(context.WithoutCancel(ctx), log, objects)
		}
	}()
	for key, data := range objects {
		if err = w.put(ctx, key, data); err != nil {
			return err
		}
	}
	// Under the record's locks, make sure every variant still exists: a concurrent delete of
	// an identical variant of another image may have removed it since it was written.
	ensure := func(ctx context.Context) error {
		for key, data := range objects {
			if _, err := w.Store.Stat(ctx, key); errors.Is(err, storage.ErrNotFound) {
				if err := w.put(ctx, key, data); err != nil {
					return err
				}
			} else if err != nil {
				return fmt.Errorf("checking variant %s: %w", key, err)
			}
		}
		return nil
	}
	outcome, err := w.DB.RecordThumbnails(ctx, target, th, string(w.DefaultFormat), ensure)
	if err != nil {
		return err
	}
	if outcome != gallery.Recorded {
		// The UPDATE changed no row: say why, and let the deleter remove what is now unused
		// (it keeps any object that a row does refer to).
		log.WarnContext(ctx, "thumbnails not recorded", "reason", outcome)
		keys := make([]string, 0, len(objects))
		for key := range objects {
			keys = append(keys, key)
		}
		return w.DB.QueueObjectDeletes(ctx, keys)
	}
	log.InfoContext(ctx, "thumbnails recorded", "variants", len(objects))
	return nil
}

// forget sends the variants of an attempt that ended early to the object outbox.
func (w *ThumbnailWorker) forget(ctx context.Context, log *slog.Logger, objects map[string][]byte) {
	keys := make([]string, 0, len(objects))
	for key := range objects {
		keys = append(keys, key)
	}
	if err := w.DB.QueueObjectDeletes(ctx, keys); err != nil {
		log.WarnContext(ctx, "variants of an interrupted job not queued for deletion", "error", err)
	}
}

func (w *ThumbnailWorker) readOriginal(ctx context.Context, key string) ([]byte, error) {
	rc, info, err := w.Store.Open(ctx, key, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("opening original %s: %w", key, err)
	}
	defer rc.Close()
	buf := bytes.NewBuffer(make([]byte, 0, info.Size))
	if _, err := io.Copy(buf, rc); err != nil {
		return nil, fmt.Errorf("reading original %s: %w", key, err)
	}
	return buf.Bytes(), nil
}

// describe names each variant by the hash of its bytes and builds the record to store.
func (w *ThumbnailWorker) describe(res imaging.Result) (gallery.Thumbnails, map[string][]byte) {
	th := gallery.Thumbnails{
		Variants:      gallery.Variants{},
		ThumbHash:     base64.StdEncoding.EncodeToString(res.ThumbHash),
		DominantColor: res.DominantColor,
	}
	objects := map[string][]byte{}
	for _, v := range res.Variants {
		sum := sha256.Sum256(v.Data)
		key := storage.ContentKey(VariantsPrefix, sum[:], extension(v.Format))
		objects[key] = v.Data
		if th.Variants[v.Preset] == nil {
			th.Variants[v.Preset] = map[string]gallery.Variant{}
		}
		th.Variants[v.Preset][string(v.Format)] = gallery.Variant{
			Key: key, URL: w.ObjectURL(key), Width: v.Width, Height: v.Height, Bytes: int64(len(v.Data)),
		}
	}
	return th, objects
}

func (w *ThumbnailWorker) put(ctx context.Context, key string, data []byte) error {
	if err := storage.Put(ctx, w.Store, key, data); err != nil {
		return fmt.Errorf("storing variant %s: %w", key, err)
	}
	return nil
}

func extension(f imaging.Format) string {
	if f == "jpeg" {
		return "jpg"
	}
	return string(f)
}

func toImagingPresets(ps []gallery.Preset) []imaging.Preset {
	out := make([]imaging.Preset, len(ps))
	for i, p := range ps {
		out[i] = imaging.Preset{Name: p.Name, LongSide: p.LongSide}
	}
	return out
}
