package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// build compiles the package pkg (./cmd/latchkey, or ./bench/profserve)
// of the module at root into dir.
func build(ctx context.Context, root, dir, pkg string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	return bin, nil
}

// moduleRoot is the directory of the go.mod of the current module.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the harness from the Latchkey module: go run ./bench")
	}
	return filepath.Dir(mod), nil
}

// routesConfig is the config file the server gets: /auth/verify answers 200
// for any valid credential (no route needs a scope).
const routesConfig = "routes:\n  default: authenticated\n"

// server is a running `latchkey serve` process.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *tailBuffer
	// exited is closed when the process has exited, with exitErr its
	// status: every waiter sees it (a channel of one value let the first
	// reader take it, and a later stop waited for ever).
	exited  chan struct{}
	exitErr error
	once    sync.Once
}

// startServer runs bin on a free loopback port with the dataset's storage
// and extra flags, and waits until it is ready.
func startServer(ctx context.Context, bin, dir, profileDir string, ds *dataset, extra ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "latchkey.yaml")
	if err := os.WriteFile(cfg, []byte(routesConfig), 0o600); err != nil {
		return nil, err
	}
	// The load tool plays the proxy in front: forward-auth believes its
	// X-Original-* headers only from a trusted proxy.
	args := []string{"serve", "--listen", "127.0.0.1:" + strconv.Itoa(port), "--config", cfg, "--log-level", "warn",
		"--trusted-proxies", "127.0.0.1/32"}
	if ds.databaseURL != "" {
		args = append(args, "--database-url", ds.databaseURL)
	} else {
		args = append(args, "--data-dir", ds.dataDir)
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	if profileDir != "" {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			return nil, err
		}
		cmd.Env = append(os.Environ(), "LATCHKEY_BENCH_PROFILE_DIR="+profileDir)
	}
	logs := &tailBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start latchkey: %w", err)
	}
	s := &server{cmd: cmd, url: "http://127.0.0.1:" + strconv.Itoa(port), logs: logs, exited: make(chan struct{})}
	go func() {
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("latchkey exited before it was ready (%v); the last it wrote:\n%s", s.exitErr, s.logs.tail(tailLines))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("latchkey was not ready within %s; the last it wrote:\n%s", limit, s.logs.tail(tailLines))
}

// tailLines is how many of the server's last output lines an error quotes.
const tailLines = 20

// gone returns an error quoting the end of the server's output when the
// process has exited, and nil while it runs.
func (s *server) gone() error {
	select {
	case <-s.exited:
		return fmt.Errorf("latchkey exited during the run (%v); the last it wrote:\n%s", s.exitErr, s.logs.tail(tailLines))
	default:
		return nil
	}
}

// explain is err, or, when the server has exited (the likely reason a
// request to it failed), the error that says so.
func (s *server) explain(err error) error {
	if err == nil {
		return nil
	}
	if g := s.gone(); g != nil {
		return g
	}
	return err
}

// watch returns a context that ends with ctx or when the server exits, so
// a load run against a dead server stops at once.
func (s *server) watch(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// stop ends the server gracefully (SIGTERM: it flushes usage data), and
// kills it if it takes more than 30 seconds. Calling it again is a no-op.
func (s *server) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// mem is the server's memory, in bytes, from /proc/PID/status.
type mem struct {
	rss, peak, anon, file, shmem int64
}

// memory reads the server's resident set size now, its peak, and what the
// resident pages are (anonymous: Go heap and SQLite's caches; file: the
// binary and libraries; shared memory: SQLite's WAL index).
func (s *server) memory() (mem, error) {
	var m mem
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return m, err
	}
	defer f.Close()
	fields := map[string]*int64{"VmRSS": &m.rss, "VmHWM": &m.peak, "RssAnon": &m.anon, "RssFile": &m.file, "RssShmem": &m.shmem}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		p, want := fields[key]
		if !ok || !want {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("parse %s: %w", key, err)
		}
		*p = kb << 10
	}
	return m, sc.Err()
}

// cpuTime is the CPU time the server has used so far, user and system,
// from /proc/PID/stat (in clock ticks of 1/100 s, USER_HZ on Linux).
func (s *server) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing one; utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command name", s.cmd.Process.Pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", s.cmd.Process.Pid, len(f)+2)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/%d/stat: %w", s.cmd.Process.Pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

// tail is the last n lines written.
func (t *tailBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(t.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

var _ io.Writer = (*tailBuffer)(nil)
