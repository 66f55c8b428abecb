package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the harness's flags.
type options struct {
	scenarios   []scenario
	tokens      int
	hot         int
	duration    time.Duration
	slice       time.Duration
	connections int
	threads     int
	databaseURL string
	jsonOut     bool
	plot        string
	plotTokens  []int
	wrk         string
	binary      string
	keep        bool
	profile     string
	serveFlags  []string
	from        string
	restartDB   bool // replicas: stop and restart the (private) database mid-run
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var names, plotTokens string
	fs.StringVar(&names, "scenario", "verify-cached", "scenarios to run, comma-separated, or all: "+scenarioNames())
	fs.IntVar(&o.tokens, "tokens", 100_000, "tokens to seed")
	fs.IntVar(&o.hot, "hot", 10_000, "distinct tokens the cached scenarios cycle over (at most -tokens)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "load duration of each run (the floor runs as long)")
	fs.DurationVar(&o.slice, "slice", 5*time.Second, "alternate server and floor in slices this long (0: one run each), so both see the same moments of a busy machine")
	fs.IntVar(&o.connections, "connections", 64, "concurrent connections")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads")
	fs.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL URL: seed and serve from a fresh schema there instead of SQLite")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON line per scenario and nothing else on stdout")
	fs.StringVar(&o.plot, "plot", "", "write an SVG chart of verify throughput and p99 against token count to this file (runs verify-cached and verify-uncached at each -plot-tokens)")
	fs.BoolVar(&o.restartDB, "restart-db", false, "replicas scenario: run on a private PostgreSQL cluster and stop and restart it a third of the way through")
	fs.StringVar(&o.from, "from", "", "with -plot: draw the chart from these JSON lines (earlier -json output) instead of running the sweep")
	fs.StringVar(&plotTokens, "plot-tokens", "1000,10000,100000,1000000", "token counts of the -plot sweep")
	fs.StringVar(&o.wrk, "wrk", "wrk", "the wrk load tool (Debian package wrk)")
	fs.StringVar(&o.binary, "binary", "", "a latchkey binary to run instead of building ./cmd/latchkey")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data, token files) for inspection")
	fs.StringVar(&o.profile, "profile", "", "run the server as ./bench/profserve (the same App with profiling) and write CPU and heap profiles under this directory, one subdirectory per scenario; with -binary, that binary must be a build of ./bench/profserve")
	fs.Func("serve-flag", "an extra `latchkey serve` flag for every server run, e.g. -serve-flag=--usage-flush-interval=1h (repeatable)", func(v string) error {
		if !strings.HasPrefix(v, "--") {
			return fmt.Errorf("%q is not a serve flag: write it as --name=value", v)
		}
		o.serveFlags = append(o.serveFlags, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every setting is a flag (see -h)", fs.Arg(0))
	}
	var err error
	if o.scenarios, err = pickScenarios(names); err != nil {
		return nil, err
	}
	if o.plotTokens, err = parseCounts(plotTokens); err != nil {
		return nil, err
	}
	switch {
	case o.tokens < 1 || o.tokens > 10_000_000:
		return nil, fmt.Errorf("-tokens must be between 1 and 10000000; got %d", o.tokens)
	case o.hot < 1:
		return nil, fmt.Errorf("-hot must be at least 1; got %d", o.hot)
	case o.duration < time.Second || o.duration > 10*time.Minute:
		return nil, fmt.Errorf("-duration must be between 1s and 10m; got %s", o.duration)
	case o.connections < 1 || o.connections > 10_000:
		return nil, fmt.Errorf("-connections must be between 1 and 10000; got %d", o.connections)
	case o.slice != 0 && o.slice < time.Second:
		return nil, fmt.Errorf("-slice must be 0 or at least 1s; got %s", o.slice)
	case o.threads < 1:
		return nil, fmt.Errorf("-threads must be at least 1; got %d", o.threads)
	}
	if _, err := exec.LookPath(o.wrk); err != nil {
		return nil, fmt.Errorf("the load tool %q was not found: install it (apt-get install wrk) or pass -wrk PATH", o.wrk)
	}
	return o, nil
}

func scenarioNames() string {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return strings.Join(names, ", ")
}

func pickScenarios(names string) ([]scenario, error) {
	if names == "all" {
		return scenarios, nil
	}
	var out []scenario
	for _, n := range strings.Split(names, ",") {
		s, ok := scenarioByName(strings.TrimSpace(n))
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q: choose from %s, or all", n, scenarioNames())
		}
		out = append(out, s)
	}
	return out, nil
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-plot-tokens: %q is not a positive token count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := run(ctx, o)
	failed := false
	for _, r := range results {
		if r.Errors > 0 || r.FloorErrors > 0 {
			failed = true
			fmt.Fprintf(os.Stderr, "bench: %s: %d answers were not %d (floor: %d)\n", r.Scenario, r.Errors, r.ExpectedStatus, r.FloorErrors)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// emit prints a result: one JSON line, and with -json nothing else.
func emit(o *options, r result) {
	line, _ := json.Marshal(r)
	if o.jsonOut {
		fmt.Println(string(line))
		return
	}
	fmt.Printf("%-16s %8d tokens  %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  errors %d  RSS %6.1f MB  floor %9.0f req/s  ratio %.2f%s\n",
		r.Scenario, r.Tokens, r.RPS, r.P50MS, r.P99MS, r.Errors, r.RSSMB, r.FloorRPS, r.Ratio, verdict(r))
	fmt.Println(string(line))
}

func verdict(r result) string {
	var parts []string
	if r.TargetMet != nil {
		parts = append(parts, fmt.Sprintf("target %q %s", r.Target, map[bool]string{true: "met", false: "MISSED"}[*r.TargetMet]))
	}
	if r.MemoryMet != nil {
		parts = append(parts, fmt.Sprintf("%q %s", r.MemoryTarget, map[bool]string{true: "met", false: "MISSED"}[*r.MemoryMet]))
	}
	if len(parts) == 0 {
		return ""
	}
	return "  (" + strings.Join(parts, "; ") + ")"
}

// logf reports progress on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
