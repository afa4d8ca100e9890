// Package procstat reads what Linux's /proc says of a process's memory and CPU time, for the
// tests and benchmarks that measure a Vitrine process from outside.
package procstat

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// PeakRSS returns the peak resident set size (VmHWM) of process pid, in bytes: Go's heap,
// the C allocations of libvips and the mapped libraries alike.
func PeakRSS(pid int) (int64, error) {
	kib, err := statusField(pid, "VmHWM")
	return kib << 10, err
}

// statusField returns a field of /proc/<pid>/status, in kB for memory.
func statusField(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("procstat: no %s in /proc/%d/status", field, pid)
}

// CPUTime returns the CPU time, user and system, that process pid has used so far.
func CPUTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 > len(data) {
		return 0, fmt.Errorf("procstat: /proc/%d/stat has no command name", pid)
	}
	fields := strings.Fields(string(data[i+2:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("procstat: /proc/%d/stat is too short", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("procstat: /proc/%d/stat: bad CPU times", pid)
	}
	return time.Duration(utime+stime) * time.Second / 100, nil // USER_HZ is 100 on Linux
}
