package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// TestTokenBucketIsSharedAndAtomic spends one bucket from 40 goroutines over two pools (two
// processes' worth of connections): exactly the burst is granted, the rest are told how long
// to wait, and another key's bucket is untouched.
func TestTokenBucketIsSharedAndAtomic(t *testing.T) {
	t.Parallel()
	ownerURL := pgtest.NewDB(t)
	first, second := openAppDB(t, ownerURL), openAppDB(t, ownerURL)
	ctx := context.Background()
	var granted, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		db := first
		if i%2 == 1 {
			db = second
		}
		wg.Go(func() {
			wait, err := db.TakeTokens(ctx, "writes:user:a", 1, 1, 10)
			if err != nil {
				t.Error(err)
				return
			}
			if wait == 0 {
				granted.Add(1)
				return
			}
			refused.Add(1)
			if wait < 30*time.Second || wait > 61*time.Second {
				t.Errorf("wait %v at one token a minute", wait)
			}
		})
	}
	wg.Wait()
	if granted.Load() != 10 || refused.Load() != 30 {
		t.Fatalf("%d granted and %d refused from a burst of 10, want 10 and 30", granted.Load(), refused.Load())
	}
	if wait, err := first.TakeTokens(ctx, "writes:user:b", 1, 1, 10); err != nil || wait != 0 {
		t.Fatalf("another caller's bucket: wait %v, %v", wait, err)
	}
	// The bucket refills at its rate.
	deadline := time.Now().Add(time.Minute)
	for {
		wait, err := first.TakeTokens(ctx, "fast", 1, 600, 1) // 10 a second
		if err != nil {
			t.Fatal(err)
		}
		if wait > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a bucket of one token was never empty")
		}
	}
	for {
		wait, err := first.TakeTokens(ctx, "fast", 1, 600, 1)
		if err != nil {
			t.Fatal(err)
		}
		if wait == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the bucket never refilled")
		}
		time.Sleep(wait)
	}
}

// TestTokenBucketsAreForgottenWhenFull spends the buckets of many callers at a fast rate,
// then goes on with one caller: buckets that have refilled are deleted as calls go by, so
// the table holds only the callers that spent recently.
func TestTokenBucketsAreForgottenWhenFull(t *testing.T) {
	t.Parallel()
	ownerURL := pgtest.NewDB(t)
	db := openAppDB(t, ownerURL)
	ctx := context.Background()
	start := time.Now()
	for i := range 100 {
		if _, err := db.TakeTokens(ctx, fmt.Sprintf("uploads:user:%d", i), 1, 30, 1); err != nil { // full again in 2 s
			t.Fatal(err)
		}
	}
	count := func() int {
		var n int
		if err := ownerPool(t, ownerURL).QueryRow(ctx, `SELECT count(*) FROM vitrine_rate_buckets`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	spent := time.Now()
	if n := count(); n < 2 && time.Since(start) < 2*time.Second {
		t.Fatalf("%d buckets after 100 callers, though they are not full again yet", n)
	}
	time.Sleep(time.Until(spent.Add(2100 * time.Millisecond))) // every bucket is full again by now
	for range 20 {
		if _, err := db.TakeTokens(ctx, "uploads:user:steady", 1, 1, 100); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(); n > 1 {
		t.Fatalf("%d buckets left, want only the caller still spending", n)
	}
}

// TestTokenBucketsAreTheLoginRolesOnly: the request roles may not call the function, and the
// login role may not read or change the buckets' table itself.
func TestTokenBucketsAreTheLoginRolesOnly(t *testing.T) {
	t.Parallel()
	ownerURL := pgtest.NewDB(t)
	db := openAppDB(t, ownerURL)
	ctx := context.Background()
	if _, err := db.TakeTokens(ctx, "writes:user:a", 1, 1, 1); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`SELECT count(*) FROM vitrine_rate_buckets`,
		`UPDATE vitrine_rate_buckets SET tokens = 100`,
		`SET LOCAL ROLE authenticated; SELECT vitrine_take_tokens('writes:user:a', 1, 1e9, 1e9)`,
		`SET LOCAL ROLE anon; SELECT vitrine_take_tokens('writes:user:a', 1, 1e9, 1e9)`,
		`SET LOCAL ROLE service_role; SELECT vitrine_take_tokens('writes:user:a', 1, 1e9, 1e9)`,
	} {
		tx, err := db.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, stmt)
		tx.Rollback(ctx)
		if err == nil {
			t.Errorf("%s: allowed", stmt)
		}
	}
	if wait, err := db.TakeTokens(ctx, "writes:user:a", 1, 1, 1); err != nil || wait == 0 {
		t.Fatalf("the spent bucket: wait %v, %v; want a wait", wait, err)
	}
}

// openAppDB opens the database at ownerURL as Vitrine's login role, as a server does.
func openAppDB(t *testing.T, ownerURL string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.AppURL(ownerURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// ownerPool opens the database at ownerURL as its owner, to look at rows directly.
func ownerPool(t *testing.T, ownerURL string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
