package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// TestPauseWritesWaitsForWritersAndRefusesNewOnes checks the maintenance flag: setting it
// waits for a transaction that has already written to product_images, gives up (and clears
// the flag) when that takes too long, and refuses every new write, through Vitrine or plain
// SQL, while reads go on.
func TestPauseWritesWaitsForWritersAndRefusesNewOnes(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	ctx := serviceCtx
	p := newProduct(t, db)
	insert := `INSERT INTO product_images (product_id, image_url, storage_path, image_order) VALUES ($1, 'u', 'k', $2)`

	// A writer that checked the flag and wrote, still open: the pause gives up after its wait.
	writer, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Exec(ctx, insert, p.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := db.PauseWrites(ctx, "test", time.Minute, 200*time.Millisecond); err == nil {
		t.Fatal("the pause did not wait for an open writer")
	}
	if reason, err := db.WritesPaused(ctx); err != nil || reason != "" {
		t.Fatalf("after a pause that gave up, the flag is %q (%v), want cleared", reason, err)
	}

	// With a longer wait, the pause returns once the writer has committed, not before.
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- db.PauseWrites(context.Background(), "test", time.Minute, 10*time.Second) }()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the pause returned (%v) while a writer was open", err)
	default:
	}
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the pause after the writer committed: %v (%v)", err, time.Since(start))
	}

	_, err = db.AppendImage(ctx, newImage(p.ID, 1), nil)
	var ge *gallery.Error
	if !errors.As(err, &ge) || ge.Code != gallery.EUNAVAILABLE {
		t.Fatalf("an append while paused: %v, want unavailable", err)
	}
	_, err = db.Pool().Exec(ctx, insert, p.ID, 1)
	assertSQLState(t, err, "VT503")
	if ims, err := db.Images(ctx, p.ID); err != nil || len(ims) != 1 {
		t.Fatalf("reading while paused: %d images, %v", len(ims), err)
	}
	if err := db.ResumeWrites(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendImage(ctx, newImage(p.ID, 1), nil); err != nil {
		t.Fatalf("an append after the pause: %v", err)
	}
}
