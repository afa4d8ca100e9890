package imaging

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

func TestMaxJobsOneRunsOneAtATime(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{MaxJobs: 1})
	src := readFile(t, testphotos.Medium(t))

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := b.p.Process(context.Background(), src, []Preset{{"p", 480}}, []Format{WebP}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if peak := b.p.peakRunning.Load(); peak != 1 {
		t.Errorf("%d jobs ran at once, want 1", peak)
	}
}

func TestWaitingRespectsContext(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{MaxJobs: 1})
	src := readFile(t, testphotos.Medium(t))

	b.p.sem <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.p.Process(ctx, src, DefaultPresets(), []Format{WebP}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a slot: got %v, want context.DeadlineExceeded", err)
	}
	<-b.p.sem
	if _, err := b.p.Process(context.Background(), src, DefaultPresets(), []Format{WebP}); err != nil {
		t.Errorf("after the slot is free: %v", err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{MaxJobs: 2})
	src := readFile(t, testphotos.Medium(t))

	done := make(chan error, 1)
	go func() {
		_, err := b.p.Process(context.Background(), src, DefaultPresets(), allFormats)
		done <- err
	}()
	for b.p.running.Load() == 0 && len(done) == 0 {
		time.Sleep(time.Millisecond)
	}
	b.p.Close() // waits for the job in flight
	if n := b.p.running.Load(); n != 0 {
		t.Errorf("Close returned with %d jobs running", n)
	}
	if err := <-done; err != nil {
		t.Errorf("job in flight at Close: %v", err)
	}
	b.p.Close() // again: no panic, no wait
	if _, err := b.p.Process(context.Background(), src, DefaultPresets(), allFormats); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: got %v, want ErrClosed", err)
	}
}

func TestStartTwiceSharesLibvips(t *testing.T) {
	t.Parallel()
	a := setup(t, Config{MaxJobs: 1})
	b := setup(t, Config{MaxJobs: 3})
	if a.p == b.p || cap(a.p.sem) != 1 || cap(b.p.sem) != 3 {
		t.Error("each Start should give its own Processor with its own MaxJobs")
	}
	if _, err := Start(Config{Concurrency: 4}); err == nil {
		t.Error("Start with another libvips concurrency: no error")
	}
	if _, err := Start(Config{MaxJobs: -1}); err == nil {
		t.Error("Start with negative MaxJobs: no error")
	}
}

// TestMemoryBudgetAdmitsByEstimate runs four jobs on a 7000×7000 lossless WebP (estimated at
// about 250 MiB each) with four slots but a 300 MiB budget: they run one at a time, and the
// estimates admitted at once never exceed the budget. A job estimated above a smaller
// budget still runs, alone.
func TestMemoryBudgetAdmitsByEstimate(t *testing.T) {
	t.Parallel()
	heavy := readFile(t, heavyOriginals(t)["webp"])
	for _, budget := range []int64{300 << 20, 100 << 20} {
		b := setup(t, Config{MaxJobs: 4, MemoryBudget: budget})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := b.p.Process(context.Background(), heavy, []Preset{{"p", 480}}, []Format{WebP}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if peak := b.p.peakRunning.Load(); peak != 1 {
			t.Errorf("budget %d MiB: %d jobs of 250 MiB ran at once, want 1", budget>>20, peak)
		}
		if held := b.p.peakHeld.Load(); held > budget || held == 0 {
			t.Errorf("budget %d MiB: %d MiB admitted at once", budget>>20, held>>20)
		}
	}
}

// TestSmallJobsShareTheBudget: jobs whose estimates fit together are admitted together.
func TestSmallJobsShareTheBudget(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{MaxJobs: 2, MemoryBudget: 200 << 20})
	release1, err := b.p.admit(context.Background(), jobBaseMemory)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	release2, err := b.p.admit(ctx, jobBaseMemory) // fits beside the first: no wait
	if err != nil {
		t.Fatalf("a second small job was not admitted beside the first: %v", err)
	}
	release2()
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if _, err := b.p.admit(short, 150<<20); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a job that does not fit beside a running one: %v, want it to wait", err)
	}
	release1()
	release3, err := b.p.admit(ctx, 150<<20)
	if err != nil {
		t.Fatal(err)
	}
	release3()
}
