package postgres_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// TestRandomConcurrentWritesKeepInvariants runs random appends, deletes, moves and full
// reorders from 16 goroutines over a few products, then checks that every gallery is dense
// (0..n-1), that every acknowledged append is present and every acknowledged delete gone.
func TestRandomConcurrentWritesKeepInvariants(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	ctx := serviceCtx
	const products, workers = 4, 16
	duration := 3 * time.Second
	if testing.Short() {
		duration = time.Second
	}
	ps := make([]gallery.Product, products)
	for i := range ps {
		ps[i] = newProduct(t, db)
	}

	var (
		mu      sync.Mutex
		added   = map[uuid.UUID]uuid.UUID{} // image -> product, acknowledged appends
		deleted = map[uuid.UUID]bool{}      // acknowledged deletes
		ops     = map[string]int{}
	)
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for n := 0; time.Now().Before(deadline); n++ {
				p := ps[rng.IntN(products)]
				g, err := db.Images(ctx, p.ID)
				if err != nil {
					t.Error(err)
					return
				}
				op := rng.IntN(10)
				switch {
				case op < 4 || len(g) == 0:
					im, err := db.AppendImage(ctx, newImage(p.ID, w*100000+n), nil)
					if err != nil {
						t.Errorf("append: %v", err)
						return
					}
					mu.Lock()
					added[im.ID] = p.ID
					ops["append"]++
					mu.Unlock()
				case op < 6:
					victim := g[rng.IntN(len(g))].ID
					_, err := db.DeleteImage(ctx, victim)
					if gallery.ErrorCode(err) == gallery.ENOTFOUND {
						continue // another worker deleted it first
					}
					if err != nil {
						t.Errorf("delete: %v", err)
						return
					}
					mu.Lock()
					deleted[victim] = true
					ops["delete"]++
					mu.Unlock()
				case op < 8:
					_, err := db.MoveImage(ctx, g[rng.IntN(len(g))].ID, rng.IntN(len(g)))
					switch gallery.ErrorCode(err) {
					case gallery.ENOTFOUND, gallery.EINVALID: // gone, or the gallery shrank meanwhile
						continue
					}
					if err != nil {
						t.Errorf("move: %v", err)
						return
					}
					mu.Lock()
					ops["move"]++
					mu.Unlock()
				default:
					ids := make([]uuid.UUID, len(g))
					for i, im := range g {
						ids[i] = im.ID
					}
					rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
					_, err := db.ReorderImages(ctx, p.ID, ids)
					if gallery.ErrorCode(err) == gallery.ECONFLICT {
						continue // the gallery changed since we read it: refused, as it should be
					}
					if err != nil {
						t.Errorf("reorder: %v", err)
						return
					}
					mu.Lock()
					ops["reorder"]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("operations: %v", ops)
	for _, op := range []string{"append", "delete", "move", "reorder"} {
		if ops[op] == 0 {
			t.Errorf("no %s succeeded: the checker did not exercise it", op)
		}
	}

	present := map[uuid.UUID]uuid.UUID{}
	for _, p := range ps {
		assertDense(t, db, p.ID, -1)
		g, err := db.Images(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range g {
			present[im.ID] = p.ID
		}
	}
	for id, product := range added {
		if deleted[id] {
			if _, ok := present[id]; ok {
				t.Errorf("image %s was deleted (acknowledged) but is present", id)
			}
			continue
		}
		if got, ok := present[id]; !ok || got != product {
			t.Errorf("image %s was added (acknowledged) to %s but is missing", id, product)
		}
	}
	for id := range present {
		if _, ok := added[id]; !ok {
			t.Errorf("image %s is present but was never acknowledged", id)
		}
	}
}
