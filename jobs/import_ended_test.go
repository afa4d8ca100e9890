package jobs_test

import (
	"testing"

	"github.com/vitrine-dev/vitrine/jobs"
)

func TestImportEndedWakesTheWaitersOfBeforeOnly(t *testing.T) {
	t.Parallel()
	e := jobs.NewImportEnded()
	before := e.Next()
	select {
	case <-before:
		t.Fatal("woken before any fetch ended")
	default:
	}
	e.Broadcast()
	<-before // closed: the waiter sees the end
	select {
	case <-e.Next():
		t.Fatal("a waiter after the broadcast is woken by it")
	default:
	}
	var none *jobs.ImportEnded
	none.Broadcast()
	if none.Next() != nil {
		t.Fatal("a nil ImportEnded gives a channel")
	}
}
