package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed load.lua
var loadScript []byte

// load is one wrk run: where, how and with which tokens.
type load struct {
	url         string
	mode        string // verify, flood, me, introspect, create, floor
	tokensFile  string
	callerFile  string // introspect: the caller's token
	expect      int    // the status every answer must have
	duration    time.Duration
	connections int
	threads     int
}

// wrkResult is what load.lua's done() prints.
type wrkResult struct {
	Requests     int64 `json:"requests"`
	DurationUS   int64 `json:"duration_us"`
	P50US        int64 `json:"p50_us"`
	P90US        int64 `json:"p90_us"`
	P99US        int64 `json:"p99_us"`
	MaxUS        int64 `json:"max_us"`
	StatusErrors int64 `json:"status_errors"` // answers >= 400 (wrk's count)
	Unexpected   int64 `json:"unexpected"`    // answers other than expect (when not 2xx)
	Connect      int64 `json:"connect"`
	Read         int64 `json:"read"`
	Write        int64 `json:"write"`
	Timeout      int64 `json:"timeout"`
}

// rps is requests per second over the run.
func (r wrkResult) rps() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// errors counts answers that were not the expected status, and failed
// sockets.
func (r wrkResult) errors(expect int) int64 {
	socket := r.Connect + r.Read + r.Write + r.Timeout
	if expect >= 200 && expect <= 299 {
		return r.StatusErrors + socket
	}
	return r.Unexpected + socket
}

// runWrk drives l with wrk and returns its figures.
func runWrk(ctx context.Context, wrk, dir string, l load) (wrkResult, error) {
	script := filepath.Join(dir, "load.lua")
	if err := os.WriteFile(script, loadScript, 0o600); err != nil {
		return wrkResult{}, err
	}
	threads := max(1, min(l.threads, l.connections))
	args := []string{
		"-t", strconv.Itoa(threads), "-c", strconv.Itoa(l.connections),
		"-d", strconv.Itoa(max(1, int(l.duration.Round(time.Second).Seconds()))) + "s",
		"--timeout", "10s", "-s", script, l.url, "--", l.mode, l.tokensFile, strconv.Itoa(l.expect),
		strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	if l.callerFile != "" {
		args = append(args, l.callerFile)
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, wrk, args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s%s", err, stderr.String(), out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if js, ok := strings.CutPrefix(line, "WRKJSON "); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				return wrkResult{}, fmt.Errorf("parse wrk result %q: %w", js, err)
			}
			return r, nil
		}
	}
	return wrkResult{}, errors.New("wrk printed no result line; its output:\n" + out.String() + stderr.String())
}
