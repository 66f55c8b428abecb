package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// run builds Latchkey and runs the chosen scenarios, or the -plot sweep.
func run(ctx context.Context, o *options) ([]result, error) {
	if o.plot != "" && o.from != "" {
		return nil, replot(o)
	}
	dir, err := os.MkdirTemp("", "latchkey-bench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		logf("keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := o.binary
	if bin == "" {
		root, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		pkg := "./cmd/latchkey"
		if o.profile != "" {
			pkg = "./bench/profserve"
		}
		logf("building %s", pkg)
		if bin, err = build(ctx, root, dir, pkg); err != nil {
			return nil, err
		}
	}
	if o.plot == "" {
		list, err := runReplicas(ctx, o, bin, dir) // replicas.go
		if err != nil || len(list) == 0 {
			return nil, err
		}
		return runScenarios(ctx, o, bin, dir, o.tokens, list)
	}
	var all []result
	sweep := []scenario{scenarios[0], scenarios[1]} // verify-cached, verify-uncached
	for _, n := range o.plotTokens {
		rs, err := runScenarios(ctx, o, bin, dir, n, sweep)
		all = append(all, rs...)
		if err != nil {
			return all, err
		}
	}
	if err := writeChart(o.plot, all, o); err != nil {
		return all, err
	}
	logf("wrote %s", o.plot)
	return all, nil
}

// runScenarios seeds n tokens once and runs each scenario on them.
func runScenarios(ctx context.Context, o *options, bin, dir string, n int, list []scenario) ([]result, error) {
	sub := filepath.Join(dir, fmt.Sprint(n))
	if err := os.MkdirAll(sub, 0o700); err != nil {
		return nil, err
	}
	logf("seeding %d tokens (%s)", n, backendName(o))
	ds, err := seed(ctx, sub, o.databaseURL, n)
	if err != nil {
		return nil, err
	}
	defer ds.cleanup()
	logf("seeded %d tokens in %s (%.0f tokens/s)", n, ds.seedTime.Round(time.Millisecond), float64(n)/ds.seedTime.Seconds())
	fs, err := writeFiles(sub, ds, o.hot)
	if err != nil {
		return nil, err
	}
	fl, err := startFloor(ds.digests)
	if err != nil {
		return nil, err
	}
	defer fl.close()
	var results []result
	for _, sc := range list {
		r, err := runOne(ctx, o, bin, sub, ds, fs, fl, sc)
		if err != nil {
			return results, fmt.Errorf("%s: %w", sc.name, err)
		}
		r.SeedSeconds = ds.seedTime.Seconds()
		emit(o, r)
		results = append(results, r)
	}
	return results, nil
}

// replot draws the chart from earlier results.
func replot(o *options) error {
	data, err := os.ReadFile(o.from)
	if err != nil {
		return err
	}
	var rs []result
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return fmt.Errorf("%s line %d: %w", o.from, i+1, err)
		}
		rs = append(rs, r)
		o.connections, o.duration = r.Connections, time.Duration(r.DurationS*float64(time.Second))
		if r.Backend == "postgres" {
			o.databaseURL = "postgres"
		}
	}
	if err := writeChart(o.plot, rs, o); err != nil {
		return err
	}
	logf("wrote %s from %s", o.plot, o.from)
	return nil
}

// dbPool is the connection pool the server opens on PostgreSQL (pgxpool's:
// pool_max_conns in the URL, else max(4, CPUs)); 0 on SQLite.
func (o *options) dbPool() int {
	if o.databaseURL == "" {
		return 0
	}
	cfg, err := pgxpool.ParseConfig(o.databaseURL)
	if err != nil {
		return 0
	}
	return int(cfg.MaxConns)
}

func backendName(o *options) string {
	if o.databaseURL != "" {
		return "postgres"
	}
	return "sqlite"
}

// runOne measures one scenario on a fresh server process, then the floor
// server under the same load.
func runOne(ctx context.Context, o *options, bin, dir string, ds *dataset, fs files, fl *floor, sc scenario) (result, error) {
	flags := append([]string{}, o.serveFlags...)
	if !sc.cached {
		flags = append(flags, "--cache-size", "0")
	}
	profileDir := ""
	if o.profile != "" {
		profileDir = filepath.Join(o.profile, fmt.Sprintf("%s-%d", sc.name, len(ds.secrets)))
	}
	srv, err := startServer(ctx, bin, dir, profileDir, ds, flags...)
	if err != nil {
		return result{}, err
	}
	defer srv.stop()
	file, distinct := fs.all, fs.allN
	switch {
	case sc.bad:
		file, distinct = fs.bad, fs.badN
	case sc.hot:
		file, distinct = fs.hot, fs.hotN
		logf("%s: warming the cache with %d tokens", sc.name, distinct)
		if err := warm(ctx, srv.url, ds.secrets[:fs.hotN]); err != nil {
			return result{}, srv.explain(err)
		}
	}
	probeSecret := ds.secrets[0]
	if sc.bad {
		probeSecret = fs.badSample
	}
	if err := probe(ctx, srv.url, sc, probeSecret, fs.callerSecret); err != nil {
		return result{}, srv.explain(err)
	}
	l := load{url: srv.url, mode: sc.mode, tokensFile: file, expect: sc.expect,
		duration: o.duration, connections: o.connections, threads: o.threads}
	if sc.mode == "introspect" {
		l.callerFile = fs.caller
	}
	logf("%s: %d connections for %s over %d distinct tokens, alternating with the floor server", sc.name, o.connections, o.duration, distinct)
	fload := l
	fload.url, fload.mode, fload.callerFile, fload.expect = fl.url, "floor", "", 200
	if sc.bad {
		fload.expect = 401
	}
	m, err := measure(ctx, o, dir, srv, l, fload)
	if err != nil {
		return result{}, err
	}
	srv.stop()
	if profileDir != "" {
		// A -binary that is not a profserve build ignores the profile
		// directory: say so rather than leave it empty.
		if _, err := os.Stat(filepath.Join(profileDir, "cpu.pprof")); err != nil {
			return result{}, fmt.Errorf("%s: the server wrote no CPU profile under %s: with -profile, -binary must be a build of ./bench/profserve (or leave -binary out)", sc.name, profileDir)
		}
	}
	return newResult(o, sc, len(ds.secrets), distinct, m, fload.expect), nil
}

// newResult is the JSON line of a measured scenario, judged against its
// target.
func newResult(o *options, sc scenario, tokens, distinct int, m measurement, floorExpect int) result {
	res, fres, top, end := m.server, m.floor, m.top, m.end
	r := result{
		Scenario: sc.name, Backend: backendName(o), Tokens: tokens, Distinct: distinct,
		Connections: o.connections, DurationS: o.duration.Seconds(), Requests: res.Requests,
		RPS: round1(res.rps()), P50MS: ms(res.P50US), P99MS: ms(res.P99US), Errors: res.errors(sc.expect),
		RSSMB: mb(top.rss), RSSSamplesMB: m.samples, DBPool: o.dbPool(), RSSPeakMB: mb(end.peak), RSSAnonMB: mb(top.anon), RSSFileMB: mb(top.file), RSSShmemMB: mb(top.shmem),
		FloorRPS: round1(fres.rps()), FloorP99MS: ms(fres.P99US),
		FloorErrors: fres.errors(floorExpect), ExpectedStatus: sc.expect, Slices: m.slices,
	}
	if res.Requests > 0 && m.cpu > 0 {
		r.CPUUSPerRequest = round1(float64(m.cpu.Microseconds()) / float64(res.Requests))
	}
	if r.FloorRPS > 0 {
		r.Ratio = float64(int(r.RPS/r.FloorRPS*1000)) / 1000
	}
	r.judge()
	return r
}

func round1(f float64) float64 { return float64(int64(f*10)) / 10 }

// rssSampler records the server's memory when its resident set was
// largest during a run, and every rssEvery.
type rssSampler struct {
	done    chan struct{}
	wg      sync.WaitGroup
	max     mem
	samples []float64 // MB, every rssEvery
}

// rssEvery is how often the JSON line's rss_samples_mb samples the server.
const rssEvery = 10 * time.Second

func sampleRSS(s *server) *rssSampler {
	r := &rssSampler{done: make(chan struct{})}
	r.wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		next := time.Now().Add(rssEvery)
		for {
			if m, err := s.memory(); err == nil && m.rss > r.max.rss {
				r.max = m
			}
			if now := time.Now(); !now.Before(next) {
				if m, err := s.memory(); err == nil {
					r.samples = append(r.samples, mb(m.rss))
				}
				next = next.Add(rssEvery)
			}
			select {
			case <-r.done:
				return
			case <-tick.C:
			}
		}
	})
	return r
}

func (r *rssSampler) stop() (mem, []float64) {
	close(r.done)
	r.wg.Wait()
	return r.max, r.samples
}
