package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveProc is a `latchkey serve` running in a process of its own: this
// test binary as the CLI (TestMain), as an operator or a fault harness
// runs it.
type serveProc struct {
	cmd    *exec.Cmd
	url    chan string // the banner's URL, once it is printed
	done   chan error  // the process's exit
	mu     sync.Mutex
	stderr bytes.Buffer
}

func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	bin, err := exec.LookPath("latchkey")
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{url: make(chan string, 1), done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	p.cmd.Stderr = lockedWriter{p}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "Latchkey is running at "); ok {
				p.url <- u
			}
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
		}
	})
	return p
}

type lockedWriter struct{ p *serveProc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}

// log is what the process wrote to stderr so far.
func (p *serveProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitURL waits for the banner and returns the server's URL.
func (p *serveProc) waitURL(t *testing.T) string {
	t.Helper()
	select {
	case u := <-p.url:
		return u
	case err := <-p.done:
		t.Fatalf("latchkey serve exited before serving (%v):\n%s", err, p.log())
	case <-time.After(2 * time.Minute):
		t.Fatalf("latchkey serve did not print its banner:\n%s", p.log())
	}
	return ""
}

// waitLog waits until stderr has a line containing s.
func (p *serveProc) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(p.log(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("latchkey serve never logged %q:\n%s", s, p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *serveProc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("latchkey serve did not exit:\n%s", p.log())
	}
	return -1
}

// TestASecondSignalDuringShutdownExitsAtOnce stops `latchkey serve` with
// SIGTERM while a request is in flight (to an upstream that has not
// answered), so the graceful stop waits for it, and then sends SIGTERM
// again, as an operator who does not want to wait (or a supervisor's
// second signal) does. The second signal must end the process at once: it
// says so in its log and exits non-zero, rather than being ignored until
// the shutdown grace has passed and then exiting 0.
func TestASecondSignalDuringShutdownExitsAtOnce(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			release := make(chan struct{})
			arrived := make(chan struct{}, 1)
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			defer upstream.Close()
			defer close(release)

			dir := t.TempDir()
			conf := filepath.Join(dir, "latchkey.yaml")
			if err := os.WriteFile(conf, []byte("routes:\n  default: authenticated\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			p := startServe(t, "--data-dir", filepath.Join(dir, "data"), "--config", conf, "--admin-password", "correct-horse-battery", "--upstream", upstream.URL)
			base := p.waitURL(t)
			resp, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"correct-horse-battery"}`))
			if err != nil {
				t.Fatal(err)
			}
			var login struct{ Token string }
			err = json.NewDecoder(resp.Body).Decode(&login)
			resp.Body.Close()
			if err != nil || login.Token == "" {
				t.Fatalf("login: %d %v", resp.StatusCode, err)
			}

			inflight := make(chan string, 1)
			go func() {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/slow", nil)
				req.Header.Set("Authorization", "Bearer "+login.Token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					inflight <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				inflight <- resp.Status + " " + string(b)
			}()
			select {
			case <-arrived:
			case got := <-inflight:
				t.Fatalf("the request to the upstream was answered by latchkey: %s", got)
			case <-time.After(time.Minute):
				t.Fatalf("the request never reached the upstream:\n%s", p.log())
			}

			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			p.waitLog(t, "shutting down")
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// The grace is 20 s; a process that ignored the second signal
			// exits 0 once it has passed, one that obeyed it exits non-zero.
			code := p.wait(t, time.Minute)
			if code == 0 {
				t.Errorf("after a second %v during the graceful stop, latchkey serve exited 0 (it waited out the grace); want a non-zero exit at once", sig)
			}
			log := p.log()
			if !strings.Contains(log, "second") || !strings.Contains(log, "exiting at once") {
				t.Errorf("the log does not say that a second signal ended the process at once:\n%s", log)
			}
		})
	}
}
