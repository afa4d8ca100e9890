package postgres_test

import (
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// TestEventSeqsAreDensePerProductUnderConcurrentWriters has 16 goroutines append, move and
// change alt texts (the one write without the product's lock) on two products at once, through
// the Go API and through plain SQL: each product's events are numbered 1..n without a gap or
// a repeat, one per image and kind of change, and a read after seq k returns exactly the
// events after k.
func TestEventSeqsAreDensePerProductUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	products := []uuid.UUID{newProduct(t, db).ID, newProduct(t, db).ID}
	var wg sync.WaitGroup
	var mu sync.Mutex
	appended := map[uuid.UUID]int{}
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := products[g%2]
			for i := range 8 {
				im, err := db.AppendImage(serviceCtx, newImage(p, g*100+i), nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				appended[p]++
				mu.Unlock()
				if _, err := db.UpdateAlt(serviceCtx, im.ID, "alt"); err != nil {
					t.Error(err)
					return
				}
				if _, err := db.Pool().Exec(serviceCtx, `UPDATE product_images SET alt = 'plain SQL' WHERE id = $1`, im.ID); err != nil {
					t.Error(err)
					return
				}
				if _, err := db.MoveImage(serviceCtx, im.ID, 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, p := range products {
		var n, maxSeq, created, alts int64
		if err := db.Pool().QueryRow(serviceCtx, `SELECT count(*), max(seq), count(*) FILTER (WHERE change = 'created'),
			count(*) FILTER (WHERE change = 'alt') FROM vitrine_events WHERE product_id = $1`, p).Scan(&n, &maxSeq, &created, &alts); err != nil {
			t.Fatal(err)
		}
		if n != maxSeq {
			t.Errorf("product %s: %d events numbered up to %d", p, n, maxSeq)
		}
		if created != int64(appended[p]) || alts != 2*int64(appended[p]) {
			t.Errorf("product %s: %d created and %d alt events for %d images", p, created, alts, appended[p])
		}
		all, err := db.ProductEvents(serviceCtx, p, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if !all.Held || all.Head != maxSeq || int64(len(all.Events)) != n {
			t.Fatalf("read from 0: held %v, head %d, %d events; want %d", all.Held, all.Head, len(all.Events), n)
		}
		for i, e := range all.Events {
			if e.Seq != int64(i+1) || e.ProductID != p {
				t.Fatalf("event %d: %+v", i, e)
			}
		}
		tail, err := db.ProductEvents(serviceCtx, p, maxSeq-3, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if !tail.Held || len(tail.Events) != 3 || tail.Events[0].Seq != maxSeq-2 {
			t.Fatalf("read from %d: %+v", maxSeq-3, tail.Events)
		}
	}
}

// TestOldEventsExpire deletes what is past the retention, in batches, and nothing newer.
func TestOldEventsExpire(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	p := newProduct(t, db)
	for i := range 3 {
		if _, err := db.AppendImage(serviceCtx, newImage(p.ID, i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Pool().Exec(serviceCtx, `UPDATE vitrine_events SET at = now() - interval '2 hours' WHERE product_id = $1 AND seq <= 2`, p.ID); err != nil {
		t.Fatal(err)
	}
	n, err := db.ExpireEvents(gallery.WithCaller(serviceCtx, gallery.Service()))
	if err != nil || n != 2 {
		t.Fatalf("expired %d: %v", n, err)
	}
	got, err := db.ProductEvents(serviceCtx, p.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got.Held || got.Head != 3 {
		t.Fatalf("from 0 after expiry: %+v", got)
	}
	got, err = db.ProductEvents(serviceCtx, p.ID, 2, 100)
	if err != nil || !got.Held || len(got.Events) != 1 || got.Events[0].Seq != 3 {
		t.Fatalf("from 2 after expiry: %+v %v", got, err)
	}
}
