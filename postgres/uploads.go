package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// UploadsPrefix is where the staging objects of direct uploads go.
const UploadsPrefix = "uploads/"

// CreateUpload records a direct upload to a product's gallery, staged at uploads/<id> and
// valid for ttl. The caller must be allowed to change the product's gallery: a product it
// cannot see is not found, one it can see but not change is forbidden.
func (db *DB) CreateUpload(ctx context.Context, productID uuid.UUID, alt string, ttl time.Duration) (gallery.Upload, error) {
	up := gallery.Upload{ID: uuid.New(), ProductID: productID, Alt: alt}
	up.ObjectKey = UploadsPrefix + up.ID.String()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT vitrine_check_writable($1)`, productID); err != nil {
			return err
		}
		// The uploads table is the service's: suppliers reach it through these checks only.
		return asService(ctx, tx, func() error {
			return tx.QueryRow(ctx, `INSERT INTO vitrine_uploads (id, product_id, object_key, alt, expires_at)
				VALUES ($1, $2, $3, $4, now() + $5::interval) RETURNING created_at, expires_at`,
				up.ID, productID, up.ObjectKey, alt, ttl).Scan(&up.CreatedAt, &up.ExpiresAt)
		})
	})
	return up, domainError("creating upload", err)
}

// Upload returns a direct upload that has not expired, if the caller may change its
// product's gallery; otherwise a not-found or forbidden error.
func (db *DB) Upload(ctx context.Context, id uuid.UUID) (gallery.Upload, error) {
	var up gallery.Upload
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		err := asService(ctx, tx, func() error {
			return tx.QueryRow(ctx, `SELECT id, product_id, object_key, alt, created_at, expires_at
				FROM vitrine_uploads WHERE id = $1 AND expires_at > now()`, id).
				Scan(&up.ID, &up.ProductID, &up.ObjectKey, &up.Alt, &up.CreatedAt, &up.ExpiresAt)
		})
		if err == pgx.ErrNoRows {
			return gallery.Errorf(gallery.ENOTFOUND, "upload %s does not exist, was completed, or has expired", id)
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT vitrine_check_writable($1)`, up.ProductID)
		return err
	})
	return up, domainError("reading upload", err)
}

// CancelUpload removes a direct upload whose object was refused; its staging object goes to
// the object outbox, and a drain is enqueued, in the same transaction. A missing upload is
// not an error.
func (db *DB) CancelUpload(ctx context.Context, id uuid.UUID) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return asService(ctx, tx, func() error {
			tag, err := tx.Exec(ctx, `DELETE FROM vitrine_uploads WHERE id = $1`, id)
			if err != nil || tag.RowsAffected() == 0 || db.jobs == nil {
				return err
			}
			return db.jobs.EnqueueOutboxDrain(ctx, tx)
		})
	})
	return domainError("cancelling upload", err)
}

// ExpireUploads deletes the direct uploads that were not completed in time; their staging
// objects go to the object outbox (by trigger). It returns how many expired.
func (db *DB) ExpireUploads(ctx context.Context) (int64, error) {
	var n int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM vitrine_uploads WHERE expires_at <= now()`)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("expiring direct uploads: %w", err)
	}
	return n, nil
}
