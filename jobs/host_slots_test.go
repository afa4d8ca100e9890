package jobs

import (
	"context"
	"testing"
	"time"
)

// TestHostSlotsWaitForARelease checks that a request refused a slot of its host takes the one
// that is given back while it waits, that it waits no longer than asked or its context lives,
// and that the slots of other hosts are not taken from it.
func TestHostSlotsWaitForARelease(t *testing.T) {
	t.Parallel()
	h := NewHostSlots(1)
	release, ok := h.acquire("a.example")
	if !ok {
		t.Fatal("the first request of a host had no slot")
	}
	if _, ok := h.acquireWithin(context.Background(), "a.example", 10*time.Millisecond); ok {
		t.Fatal("a second request took the only slot of its host while the first held it")
	}
	other, ok := h.acquireWithin(context.Background(), "b.example", time.Minute)
	if !ok {
		t.Fatal("another host's request found no slot")
	}
	defer other()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := h.acquireWithin(ctx, "a.example", time.Minute); ok {
		t.Fatal("a request whose context ended took a slot that was not free")
	}
	got := make(chan bool)
	go func() {
		r, ok := h.acquireWithin(context.Background(), "a.example", time.Minute)
		if ok {
			defer r()
		}
		got <- ok
	}()
	release() // given back while the waiter waits (or before it asks): the waiter takes it
	select {
	case ok := <-got:
		if !ok {
			t.Fatal("the waiter did not take the slot given back")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the waiter was not woken by the release")
	}
}
