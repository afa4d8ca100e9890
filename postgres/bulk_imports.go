package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// CreateBulkImport records a bulk import for supplier (uuid.Nil: an import of the service's,
// whose lines may name any product by id but none by external reference) with the lines
// that next returns until it returns false, and enqueues the job that admits them, all in
// one transaction as the caller that ctx carries: an error of next (a body too large, cut
// short) leaves nothing behind. The lines are written as next returns them, a batch at a
// time, never all held in memory. A supplier with maxActive unfinished imports already is refused
// (rate limited) until one finishes; maxActive 0 means no bound.
func (db *DB) CreateBulkImport(ctx context.Context, supplier uuid.UUID, maxActive int,
	next func() (gallery.BulkImportLine, bool, error)) (uuid.UUID, error) {
	id := uuid.New()
	var supplierRef *uuid.UUID
	if supplier != uuid.Nil {
		supplierRef = &supplier
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if supplierRef != nil && maxActive > 0 {
			// One supplier's imports are counted and created one at a time.
			var active int
			err := tx.QueryRow(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('vitrine_bulk_import:' || $1::uuid::text, 0)),
				(SELECT count(*) FROM vitrine_imports WHERE supplier_id = $1 AND finished_at IS NULL)`, supplier).Scan(nil, &active)
			if err != nil {
				return err
			}
			if active >= maxActive {
				return gallery.Errorf(gallery.ERATELIMIT, "%d imports of this supplier are still running: wait for one to finish", active)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO vitrine_imports (id, supplier_id, lines) VALUES ($1, $2, 0)`, id, supplierRef); err != nil {
			return err
		}
		n, err := insertImportLines(ctx, tx, id, next)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE vitrine_imports SET lines = $2 WHERE id = $1`, id, n); err != nil {
			return err
		}
		if db.jobs == nil {
			return nil
		}
		return asService(ctx, tx, func() error { return db.jobs.EnqueueBulkImport(ctx, tx, id) })
	})
	if err != nil {
		return uuid.Nil, domainError("creating import", err)
	}
	return id, nil
}

// importLineBatch is how many lines are inserted by one statement: a feed is held in memory
// a batch at a time (at most importLineBatch × gallery.MaxImportLineBytes).
const importLineBatch = 256

// insertImportLines inserts the lines next returns, a batch at a time (COPY would be faster,
// but PostgreSQL refuses it on tables with row-level security), and returns how many.
func insertImportLines(ctx context.Context, tx pgx.Tx, id uuid.UUID, next func() (gallery.BulkImportLine, bool, error)) (int, error) {
	var (
		total                               int
		nums, positions                     []*int32
		states, refs, urls, alts, codes, ms []*string
		products                            []*uuid.UUID
	)
	flush := func() error {
		if len(nums) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO vitrine_import_lines
				(import_id, line, state, product_id, external_ref, source_url, alt, position, error_code, error_message)
			SELECT $1, l, s, p, r, u, coalesce(a, ''), pos, c, m
			FROM unnest($2::int[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[], $10::text[])
				AS t(l, s, p, r, u, a, pos, c, m)`,
			id, nums, states, products, refs, urls, alts, positions, codes, ms)
		total += len(nums)
		nums, positions, states, refs, urls, alts, codes, ms, products = nums[:0], positions[:0], states[:0], refs[:0], urls[:0], alts[:0], codes[:0], ms[:0], products[:0]
		return err
	}
	for {
		l, ok, err := next()
		if err != nil {
			return 0, err
		}
		if !ok {
			return total, flush()
		}
		n, err := int4("line", l.Line)
		if err != nil {
			return 0, err
		}
		state, code, msg := "queued", (*string)(nil), (*string)(nil)
		if l.Err != nil {
			state, code, msg = "failed", new(string(l.Err.Code)), new(l.Err.Message)
		}
		var pos *int32
		if l.Position != nil {
			p, err := int4("position", *l.Position)
			if err != nil {
				return 0, err
			}
			pos = &p
		}
		nums, positions = append(nums, &n), append(positions, pos)
		states, codes, ms = append(states, &state), append(codes, code), append(ms, msg)
		products, refs, urls, alts = append(products, nullUUID(l.ProductID)), append(refs, nullText(l.ExternalRef)), append(urls, nullText(l.SourceURL)), append(alts, &l.Alt)
		if len(nums) == importLineBatch {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// bulkImportCounts reads an import and its counts; $1 is its id. A line is done when its
// image is in the gallery (or was deleted while it was fetched), failed when it was refused or
// its image's fetch failed, and queued otherwise (see 00019_import_line_outcomes.sql).
const bulkImportCounts = `SELECT i.id, coalesce(i.supplier_id, '00000000-0000-0000-0000-000000000000'), i.lines,
	i.created_at, i.finished_at,
	(SELECT count(*) FROM vitrine_import_lines AS l WHERE l.import_id = i.id AND l.state = 'failed'),
	(SELECT count(*) FROM vitrine_import_lines AS l WHERE l.import_id = i.id AND l.state = 'done')
FROM vitrine_imports AS i
WHERE i.id = $1`

// BulkImport returns an import's progress and its failed lines after line after, at most
// limit of them (1..gallery.MaxImportFailures), as the caller that ctx carries reads them:
// an import of another supplier is not found.
func (db *DB) BulkImport(ctx context.Context, id uuid.UUID, after, limit int) (gallery.BulkImport, error) {
	if limit < 1 || limit > gallery.MaxImportFailures {
		return gallery.BulkImport{}, gallery.Errorf(gallery.EINVALID, "limit must be from 1 to %d", gallery.MaxImportFailures)
	}
	var b gallery.BulkImport
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, bulkImportCounts, id).Scan(&b.ID, &b.SupplierID, &b.Lines, &b.CreatedAt, &b.FinishedAt, &b.Failed, &b.Done)
		if errors.Is(err, pgx.ErrNoRows) {
			return gallery.Errorf(gallery.ENOTFOUND, "import %s does not exist", id)
		}
		if err != nil {
			return err
		}
		b.Queued = b.Lines - b.Failed - b.Done
		rows, err := tx.Query(ctx, `SELECT line, error_code, error_message FROM vitrine_import_lines
			WHERE import_id = $1 AND state = 'failed' AND line > $2
			ORDER BY line LIMIT $3`, id, after, limit+1)
		if err != nil {
			return err
		}
		b.Failures, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (f gallery.BulkImportFailure, err error) {
			err = r.Scan(&f.Line, &f.Code, &f.Message)
			return f, err
		})
		return err
	})
	if err != nil {
		return gallery.BulkImport{}, domainError("reading import", err)
	}
	if len(b.Failures) > limit {
		b.Failures = b.Failures[:limit]
		b.NextAfter = b.Failures[limit-1].Line
	}
	return b, nil
}

// NextBulkImportLines reads what an import's job needs to admit its next lines: the
// import's supplier, how many of its images are being fetched, and its next queued lines, as
// many as make inFlight fetches (lines that give a position first, by position, then by line
// number, so that a gallery listed in any order ends in the feed's order). It first settles
// the lines being fetched whose image is no longer importing (see settleImportLines). ctx
// must carry the service role. An import that is gone is reported finished.
func (db *DB) NextBulkImportLines(ctx context.Context, id uuid.UUID, inFlight int) (gallery.BulkImportBatch, error) {
	var b gallery.BulkImportBatch
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := settleImportLines(ctx, tx, id); err != nil {
			return err
		}
		var supplier *uuid.UUID
		var finished *time.Time
		err := tx.QueryRow(ctx, `SELECT supplier_id, finished_at,
				(SELECT count(*) FROM vitrine_import_lines AS l WHERE l.import_id = i.id AND l.state = 'admitted')
			FROM vitrine_imports AS i WHERE id = $1`, id).Scan(&supplier, &finished, &b.Fetching)
		if errors.Is(err, pgx.ErrNoRows) {
			b.Finished = true
			return nil
		}
		if err != nil {
			return err
		}
		if supplier != nil {
			b.SupplierID = *supplier
		}
		if b.Finished = finished != nil; b.Finished || b.Fetching >= inFlight {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT line, coalesce(product_id, '00000000-0000-0000-0000-000000000000'),
				coalesce(external_ref, ''), source_url, alt, position
			FROM vitrine_import_lines WHERE import_id = $1 AND state = 'queued'
			ORDER BY position NULLS LAST, line LIMIT $2`, id, inFlight-b.Fetching)
		if err != nil {
			return err
		}
		b.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (l gallery.BulkImportLine, err error) {
			err = r.Scan(&l.Line, &l.ProductID, &l.ExternalRef, &l.SourceURL, &l.Alt, &l.Position)
			return l, err
		})
		return err
	})
	return b, domainError("reading import", err)
}

// settleImportLines gives the lines of import id being fetched whose image is no longer
// importing the outcome of their image: done (or deleted), or failed with its error. The
// trigger of 00019 does it when the image changes, but a line admitted onto an image that
// existed already (a feed sent again) may miss it: the image's fetch can end while the line
// is being admitted, unseen by the trigger's update, and an image deleted meanwhile leaves
// its line admitted without an image. So the import's job settles them before it counts the
// fetches, and before the import ends.
// It reads only the lines being fetched, at most the import's in-flight bound.
func settleImportLines(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE vitrine_import_lines AS l
		SET state = CASE WHEN im.import_status = 'failed' THEN 'failed' ELSE 'done' END,
		    error_code = CASE WHEN im.import_status = 'failed' THEN coalesce(im.import_error_code, 'internal') END,
		    error_message = CASE WHEN im.import_status = 'failed' THEN coalesce(im.import_error, '') END
		FROM vitrine_import_lines AS s LEFT JOIN product_images AS im ON im.id = s.image_id
		WHERE s.import_id = $1 AND s.state = 'admitted' AND im.import_status IS DISTINCT FROM 'importing'
		  AND l.import_id = s.import_id AND l.line = s.line`, id)
	return err
}

// admitImportLines records in tx that queued lines of import id were admitted: the image of
// lines[i] is images[i], being fetched (its outcome is settled later, see settleImportLines).
func admitImportLines(ctx context.Context, tx pgx.Tx, id uuid.UUID, lines []int, images []uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE vitrine_import_lines AS l SET state = 'admitted', image_id = a.image
		FROM unnest($2::int[], $3::uuid[]) AS a(line, image)
		WHERE l.import_id = $1 AND l.line = a.line AND l.state = 'queued'`, id, lines, images)
	return err
}

// BulkImportsWaiting reports whether jobs of bulk imports wait for a worker (River's table,
// read as the service role that ctx must carry).
func (db *DB) BulkImportsWaiting(ctx context.Context) (bool, error) {
	var waiting bool
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM river_job
			WHERE queue = $1 AND state = 'available' AND scheduled_at <= now())`, gallery.BulkImportQueue).Scan(&waiting)
	})
	return waiting, domainError("looking for waiting imports", err)
}

// FailBulkImportLine records that a queued line of an import failed, with the code and
// message of cause (a domain error). ctx must carry the service role.
func (db *DB) FailBulkImportLine(ctx context.Context, id uuid.UUID, line int, cause error) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE vitrine_import_lines SET state = 'failed', error_code = $3, error_message = $4
			WHERE import_id = $1 AND line = $2 AND state = 'queued'`, id, line, string(gallery.ErrorCode(cause)), gallery.ErrorMessage(cause))
		return err
	})
	return domainError("failing an import's line", err)
}

// FinishBulkImport records that an import finished, if none of its lines is queued or being
// fetched (after settling them, see settleImportLines), and reports whether it is finished.
// ctx must carry the service role.
func (db *DB) FinishBulkImport(ctx context.Context, id uuid.UUID) (finished bool, err error) {
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if err := settleImportLines(ctx, tx, id); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `WITH done AS (
				UPDATE vitrine_imports AS i SET finished_at = now()
				WHERE id = $1 AND finished_at IS NULL
				  AND NOT EXISTS (SELECT 1 FROM vitrine_import_lines AS l
				                  WHERE l.import_id = i.id AND l.state IN ('queued', 'admitted'))
				RETURNING 1)
			SELECT EXISTS (SELECT 1 FROM done) OR EXISTS (SELECT 1 FROM vitrine_imports WHERE id = $1 AND finished_at IS NOT NULL)
			    OR NOT EXISTS (SELECT 1 FROM vitrine_imports WHERE id = $1)`, id).Scan(&finished)
	})
	return finished, domainError("finishing import", err)
}

// EnsureProductByRef returns supplier's product whose external reference is ref, creating it
// (untitled, unpublished) when the supplier has none, as the caller that ctx carries: two
// imports naming the same new reference at once get the same product.
func (db *DB) EnsureProductByRef(ctx context.Context, supplier uuid.UUID, ref string) (gallery.Product, error) {
	var p gallery.Product
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO products (id, supplier_id, external_ref) VALUES ($1, $2, $3)
			ON CONFLICT (supplier_id, external_ref) WHERE external_ref IS NOT NULL DO NOTHING`, uuid.New(), supplier, ref)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE supplier_id = $1 AND external_ref = $2`,
			supplier, ref).Scan(productDest(&p)...)
	})
	return p, domainError("finding product by external_ref", err)
}
