package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals are the signals that stop `latchkey serve`.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// stopOnSignal returns a context that ends at the first SIGINT or SIGTERM,
// which starts serve's graceful stop (requests in flight get the shutdown
// grace, usage is flushed). A second one while it runs ends the process at
// once, with a log line saying so and exit status 128+signal (130, 143):
// an operator pressing Ctrl-C again, or a supervisor that has waited long
// enough, means "now", and a process that ignored it would have to be
// killed with SIGKILL, which says nothing in the log. stop releases the
// signals.
func stopOnSignal(parent context.Context, logger *slog.Logger, exit func(code int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals...)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			logger.Info("received "+signalName(sig)+": stopping gracefully; send it again to exit at once", "signal", signalName(sig))
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			logger.Error("received a second "+signalName(sig)+" while stopping: exiting at once, without waiting for requests in flight or flushing usage", "signal", signalName(sig))
			exit(128 + signalNumber(sig))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

func signalName(sig os.Signal) string {
	if sig == os.Interrupt {
		return "SIGINT"
	}
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return sig.String()
}

func signalNumber(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return int(s)
	}
	return 1
}
