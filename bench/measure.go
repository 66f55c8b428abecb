package main

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// measurement is what one scenario's load produced, for the server and the
// floor.
type measurement struct {
	server, floor wrkResult
	top, end      mem // the server's memory at its largest, and at the end
	samples       []float64
	slices        int
	cpu           time.Duration // the server's CPU time during the load; 0 if unknown
}

// measure drives the server and the floor with the same load, alternating
// slices of at most o.slice each, so that both see the same moments of a
// shared machine. The server is stopped (SIGSTOP) while the floor runs, so
// its background work (the usage flush) cannot take the floor's CPU or
// escape its own measurement.
func measure(ctx context.Context, o *options, dir string, srv *server, l, fl load) (measurement, error) {
	var m measurement
	slice := o.duration
	if o.slice > 0 && o.slice < o.duration {
		slice = o.slice
	}
	m.slices = max(1, int((o.duration+slice-1)/slice))
	l.duration, fl.duration = slice, slice
	// A server that exits mid-run ends the run at once, with its last words.
	ctx, cancel := srv.watch(ctx)
	defer cancel()
	sampler := sampleRSS(srv)
	cpu0, cpuErr := srv.cpuTime()
	for i := 0; i < m.slices; i++ {
		res, err := runWrk(ctx, o.wrk, dir, l)
		if err == nil {
			err = srv.gone()
		}
		if err != nil {
			sampler.stop()
			return m, srv.explain(err)
		}
		m.server = m.server.add(res)
		if err := srv.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			sampler.stop()
			return m, srv.explain(fmt.Errorf("pause the server: %w", err))
		}
		fres, err := runWrk(ctx, o.wrk, dir, fl)
		_ = srv.cmd.Process.Signal(syscall.SIGCONT)
		if g := srv.gone(); g != nil {
			sampler.stop()
			return m, g
		}
		if err != nil {
			sampler.stop()
			return m, fmt.Errorf("floor: %w", err)
		}
		m.floor = m.floor.add(fres)
		time.Sleep(50 * time.Millisecond) // let the resumed server settle
	}
	m.top, m.samples = sampler.stop()
	m.end, _ = srv.memory()
	// The server is stopped while the floor runs: what it used between
	// the two readings went to its own slices (and the settling pauses).
	if cpu1, err := srv.cpuTime(); err == nil && cpuErr == nil {
		m.cpu = cpu1 - cpu0
	}
	return m, nil
}

// add sums two runs; latency percentiles become the request-weighted mean
// of the runs' percentiles, and the maximum stays the maximum.
func (r wrkResult) add(o wrkResult) wrkResult {
	n := r.Requests + o.Requests
	if n == 0 {
		return r
	}
	w := func(a, b int64) int64 { return (a*r.Requests + b*o.Requests) / n }
	return wrkResult{
		Requests: n, DurationUS: r.DurationUS + o.DurationUS,
		P50US: w(r.P50US, o.P50US), P90US: w(r.P90US, o.P90US), P99US: w(r.P99US, o.P99US), MaxUS: max(r.MaxUS, o.MaxUS),
		StatusErrors: r.StatusErrors + o.StatusErrors, Unexpected: r.Unexpected + o.Unexpected,
		Connect: r.Connect + o.Connect, Read: r.Read + o.Read, Write: r.Write + o.Write, Timeout: r.Timeout + o.Timeout,
	}
}
