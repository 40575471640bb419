//go:build unix

package simulate

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the test process has used: a
// benchmark on a machine shared with other work compares it per op, as
// wall time there mostly measures the other work.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
