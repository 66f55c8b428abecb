package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/pgcluster"
)

// The replicas scenario: three `latchkey serve` processes on one
// PostgreSQL (started together on an empty schema), tokens cached on every
// replica, revocations made on the first one, and the other two polled
// until they refuse each revoked token. It reports the propagation delay —
// from the 204 that acknowledged a revocation to the first 401 on a
// replica — as p50/p99/max. With -restart-db the database (a private
// cluster) is stopped for two seconds and restarted a third of the way
// through; revocations refused meanwhile (503) are retried until
// acknowledged, and those acknowledged within five seconds of the restart
// are also reported on their own. A revocation acknowledged just before the
// stop whose notification died with the connections is measured from the
// moment the database accepted writes again (the replica drops its cache
// when its feed reconnects); max_from_ack_ms is the unadjusted maximum.

const (
	replicaCount   = 3
	replicaTokens  = 300
	replicaPace    = 25 * time.Millisecond // between revocations
	replicaPoll    = 2 * time.Millisecond
	replicaGiveUp  = 30 * time.Second
	replicaSecret  = "bench-replicas-signing-secret"
	replicaAdminPW = "bench-replicas-admin-password"
)

// replicaResult is the JSON line the scenario prints.
type replicaResult struct {
	Scenario      string  `json:"scenario"`
	Backend       string  `json:"backend"`
	Replicas      int     `json:"replicas"`
	Revocations   int     `json:"revocations"`
	Observations  int     `json:"observations"` // revocations x polled replicas
	RestartDB     bool    `json:"restart_db"`
	P50MS         float64 `json:"p50_ms"`
	P99MS         float64 `json:"p99_ms"`
	MaxMS         float64 `json:"max_ms"`
	RawMaxMS      float64 `json:"max_from_ack_ms"` // not adjusted for the outage
	SpannedOutage int     `json:"spanned_outage,omitempty"`
	Lost          int     `json:"lost"` // not refused within replicaGiveUp
	AroundN       int     `json:"around_restart_observations,omitempty"`
	AroundP99MS   float64 `json:"around_restart_p99_ms,omitempty"`
	AroundMaxMS   float64 `json:"around_restart_max_ms,omitempty"`
	Refused503    int     `json:"revocations_refused_503,omitempty"`
	DowntimeMS    float64 `json:"db_downtime_ms,omitempty"`
	Target        string  `json:"target"`
	TargetMet     bool    `json:"target_met"`
	ServerVersion string  `json:"-"`
}

// runReplicas runs the replicas scenario when it was chosen, and returns
// the other chosen scenarios for the usual runner.
func runReplicas(ctx context.Context, o *options, bin, dir string) ([]scenario, error) {
	var rest []scenario
	chosen := false
	for _, s := range o.scenarios {
		if s.name == "replicas" {
			chosen = true
		} else {
			rest = append(rest, s)
		}
	}
	if !chosen {
		return rest, nil
	}
	r, err := replicaRun(ctx, o, bin, dir)
	if err != nil {
		return rest, fmt.Errorf("replicas: %w", err)
	}
	line, _ := json.Marshal(r)
	if !o.jsonOut {
		met := map[bool]string{true: "met", false: "MISSED"}[r.TargetMet]
		fmt.Printf("%-16s %d replicas  %d revocations  p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms  lost %d  (target %q %s)\n",
			r.Scenario, r.Replicas, r.Revocations, r.P50MS, r.P99MS, r.MaxMS, r.Lost, r.Target, met)
		if r.RestartDB {
			fmt.Printf("%-16s database down %.0f ms; %d revocation attempts answered 503 meanwhile; %d observations spanned the outage (measured from the restart; max from the 204: %.0f ms); refused within 5 s of the restart: %d observations, p99 %.3f ms, max %.3f ms\n",
				"", r.DowntimeMS, r.Refused503, r.SpannedOutage, r.RawMaxMS, r.AroundN, r.AroundP99MS, r.AroundMaxMS)
		}
	}
	fmt.Println(string(line))
	return rest, nil
}

func replicaRun(ctx context.Context, o *options, bin, dir string) (*replicaResult, error) {
	sub := filepath.Join(dir, "replicas")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		return nil, err
	}
	var cluster *pgcluster.Cluster
	dsn := o.databaseURL
	if o.restartDB || dsn == "" {
		logf("starting a private PostgreSQL cluster")
		c, err := pgcluster.Start(ctx, filepath.Join(sub, "pg"))
		if err != nil {
			return nil, err
		}
		defer c.Close()
		cluster, dsn = c, c.DSN
	}
	schemaDSN, drop, err := freshSchema(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer drop()
	ds := &dataset{databaseURL: schemaDSN}

	// The replicas start together on the empty schema: one creates the owner.
	logf("starting %d replicas together on one empty schema", replicaCount)
	servers := make([]*server, replicaCount)
	errs := make([]error, replicaCount)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = startServer(ctx, bin, sub, "", ds, "--cache-ttl=1h",
				"--admin-password="+replicaAdminPW, "--signing-key-secret="+replicaSecret)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, s := range servers {
				if s != nil {
					s.stop()
				}
			}
			return nil, fmt.Errorf("replica %d: %w", i, err)
		}
	}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	a, polled := servers[0], servers[1:]
	hc := &http.Client{Timeout: 10 * time.Second}
	admin, err := login(ctx, hc, a.url)
	if err != nil {
		return nil, err
	}
	type tok struct{ id, secret string }
	toks := make([]tok, replicaTokens)
	for i := range toks {
		var out struct {
			Token  struct{ ID string } `json:"token"`
			Secret string              `json:"secret"`
		}
		if st, err := call(ctx, hc, http.MethodPost, a.url+"/api/v1/tokens", admin,
			map[string]any{"name": fmt.Sprintf("replica-%d", i), "scopes": []string{"repo:read"}}, &out); err != nil || st != http.StatusCreated {
			return nil, fmt.Errorf("create token: %d %v", st, err)
		}
		toks[i] = tok{out.Token.ID, out.Secret}
		for _, s := range polled {
			if st, err := call(ctx, hc, http.MethodGet, s.url+"/api/v1/me", out.Secret, nil, nil); err != nil || st != http.StatusOK {
				return nil, fmt.Errorf("warm replica: %d %v", st, err)
			}
		}
	}
	logf("created %d tokens on replica 1 and cached them on the others; revoking", len(toks))

	res := &replicaResult{Scenario: "replicas", Backend: "postgres", Replicas: replicaCount, Revocations: len(toks),
		RestartDB: o.restartDB, Target: "p99 <= 1000 ms, none lost"}
	var mu sync.Mutex
	var delays, around, raw []time.Duration
	var restartedAt time.Time
	restartAt := len(toks) / 3
	restartDone := make(chan struct{})
	var pollers sync.WaitGroup
	for i, t := range toks {
		if o.restartDB && i == restartAt {
			go func() {
				defer close(restartDone)
				down := time.Now()
				logf("stopping the database")
				if err := cluster.Stop(ctx); err != nil {
					logf("stop: %v", err)
				}
				time.Sleep(2 * time.Second)
				if err := cluster.Restart(ctx); err != nil {
					logf("restart: %v", err)
				}
				mu.Lock()
				restartedAt = time.Now()
				res.DowntimeMS = float64(restartedAt.Sub(down).Microseconds()) / 1000
				mu.Unlock()
				logf("database accepting connections again")
			}()
		}
		var acked time.Time
		for {
			st, err := call(ctx, hc, http.MethodDelete, a.url+"/api/v1/tokens/"+t.id, admin, nil, nil)
			if err == nil && st == http.StatusNoContent {
				acked = time.Now()
				break
			}
			if err == nil && st != http.StatusServiceUnavailable {
				return nil, fmt.Errorf("revoke: status %d", st)
			}
			res.Refused503++
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err := a.gone(); err != nil {
				return nil, err
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Each revoked token is polled from its own loopback address: the
		// replicas limit failed authentications per client address (20,
		// then one per 3 s), and the 401 every poll ends with is one.
		pc := sourceClient(i)
		for _, s := range polled {
			pollers.Add(1)
			go func() {
				defer pollers.Done()
				d, ok := pollUntilRefused(ctx, pc, s.url, t.secret, acked)
				mu.Lock()
				defer mu.Unlock()
				if !ok {
					res.Lost++
					return
				}
				raw = append(raw, d)
				// A revocation acknowledged just before the database went
				// down may reach a replica only once the database is back
				// (its notification died with the connections): measure
				// it from the moment the database accepted writes again.
				if refused := acked.Add(d); !restartedAt.IsZero() && acked.Before(restartedAt) && refused.After(restartedAt) {
					d = refused.Sub(restartedAt)
					res.SpannedOutage++
				}
				delays = append(delays, d)
				if !restartedAt.IsZero() && acked.Add(d).Sub(restartedAt) < 5*time.Second && acked.Add(d).After(restartedAt) {
					around = append(around, d)
				}
			}()
		}
		time.Sleep(replicaPace)
	}
	pollers.Wait()
	if o.restartDB {
		<-restartDone
	}
	res.Observations = len(delays)
	res.P50MS, res.P99MS, res.MaxMS = percentiles(delays)
	_, _, res.RawMaxMS = percentiles(raw)
	res.AroundN = len(around)
	_, res.AroundP99MS, res.AroundMaxMS = percentiles(around)
	res.TargetMet = res.Lost == 0 && res.P99MS <= 1000
	return res, nil
}

// sourceClient is an HTTP client whose connections come from 127.0.x.y, a
// distinct loopback address for each n (Linux routes all of 127.0.0.0/8
// to the loopback interface).
func sourceClient(n int) *http.Client {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+n/250), byte(1+n%250))}
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

// pollUntilRefused asks the replica at url about secret until it answers
// 401, and returns how long after acked that was.
func pollUntilRefused(ctx context.Context, hc *http.Client, url, secret string, acked time.Time) (time.Duration, bool) {
	for time.Since(acked) < replicaGiveUp && ctx.Err() == nil {
		st, err := call(ctx, hc, http.MethodGet, url+"/api/v1/me", secret, nil, nil)
		if err == nil && st == http.StatusUnauthorized {
			return max(time.Since(acked), 0), true
		}
		time.Sleep(replicaPoll)
	}
	return 0, false
}

func percentiles(ds []time.Duration) (p50, p99, maxMS float64) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		i := min(int(q*float64(len(ds))), len(ds)-1)
		return float64(ds[i].Microseconds()) / 1000
	}
	return at(0.50), at(0.99), float64(ds[len(ds)-1].Microseconds()) / 1000
}

func login(ctx context.Context, hc *http.Client, url string) (string, error) {
	var out struct{ Token string }
	st, err := call(ctx, hc, http.MethodPost, url+"/api/v1/auth/login", "",
		map[string]string{"username": "admin", "password": replicaAdminPW}, &out)
	if err != nil || st != http.StatusOK {
		return "", fmt.Errorf("log in: %d %v", st, err)
	}
	return out.Token, nil
}

// call sends a JSON request and decodes a JSON answer into out (if given).
func call(ctx context.Context, hc *http.Client, method, url, bearer string, in, out any) (int, error) {
	var body *bytes.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	} else {
		body = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, nil
}
