package procstat

import (
	"os"
	"testing"
	"time"
)

// TestOwnProcess reads this process's figures: a peak RSS that grows when memory is touched,
// and CPU time that grows with work.
func TestOwnProcess(t *testing.T) {
	before, err := PeakRSS(os.Getpid())
	if err != nil || before <= 0 {
		t.Fatalf("PeakRSS: %d, %v", before, err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	after, err := PeakRSS(os.Getpid())
	if err != nil || after < before+32<<20 {
		t.Fatalf("PeakRSS after touching 64 MiB: %d (before: %d), %v", after, before, err)
	}
	cpu0, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for cpu := cpu0; cpu < cpu0+50*time.Millisecond; {
		for i := range buf {
			buf[i]++
		}
		if cpu, err = CPUTime(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := PeakRSS(1 << 30); err == nil {
		t.Error("PeakRSS of a process that does not exist: no error")
	}
}
