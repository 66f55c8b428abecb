package auth_test

import (
	"syscall"
	"testing"
	"time"
)

// reportCPU starts counting the process's CPU time (user and system, every
// goroutine's: the usage flusher and the garbage collector included) and
// returns the function that reports it per operation as cpu-ns/op. Unlike
// ns/op it does not count time spent waiting for a core, so it stays
// comparable on a shared machine.
func reportCPU(b *testing.B) func() {
	b.Helper()
	start := cpuTime(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
