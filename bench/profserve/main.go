// Command profserve is `latchkey serve` with profiling, for the load
// harness's -profile flag: the same configuration, the same App, the same
// handlers, plus a CPU profile of the whole run and a heap profile at
// shutdown, written where LATCHKEY_BENCH_PROFILE_DIR says. It is not a
// product binary: it exists so that profiles explain the harness's figures.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "profserve:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := os.Getenv("LATCHKEY_BENCH_PROFILE_DIR")
	if dir == "" {
		return fmt.Errorf("set LATCHKEY_BENCH_PROFILE_DIR to the directory the profiles go to")
	}
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	var cfg config.Serve
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.Bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Resolve(fs); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	server.ApplyMemoryLimit(cfg, os.Getenv, logger)
	// On SIGTERM the heap is profiled first, while the server still holds
	// what it held under load, and then the server shuts down.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	heapErr := make(chan error, 1)
	go func() {
		<-sigs
		heapErr <- writeHeap(filepath.Join(dir, "heap.pprof"))
		stop()
	}()
	app, err := server.New(ctx, cfg, logger, io.Discard, "bench")
	if err != nil {
		return err
	}
	if server.AutoMemoryLimitApplies(cfg, os.Getenv) {
		app.FollowCacheWithMemoryLimit()
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return err
	}
	defer cpu.Close()
	if err := pprof.StartCPUProfile(cpu); err != nil {
		return err
	}
	serveErr := app.Serve(ctx)
	pprof.StopCPUProfile()
	if err := <-heapErr; err != nil {
		return err
	}
	return serveErr
}

// writeHeap writes the heap profile, and beside it the Go runtime's
// memory classes (so that what the process holds outside Go's heap, such
// as SQLite's page caches, is the resident set minus the runtime's total).
func writeHeap(path string) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms) // before the GC below: what load left
	stats := fmt.Sprintf("heap_alloc_mb %.1f\nheap_inuse_mb %.1f\nheap_idle_mb %.1f\nheap_released_mb %.1f\nstacks_mb %.1f\ngo_sys_mb %.1f\nnum_gc %d\n",
		mbf(ms.HeapAlloc), mbf(ms.HeapInuse), mbf(ms.HeapIdle), mbf(ms.HeapReleased), mbf(ms.StackSys), mbf(ms.Sys), ms.NumGC)
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmRSS") || strings.HasPrefix(line, "RssAnon") || strings.HasPrefix(line, "VmHWM") {
				stats += line + "\n"
			}
		}
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "memory.txt"), []byte(stats), 0o644); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

func mbf(b uint64) float64 { return float64(b) / (1 << 20) }
