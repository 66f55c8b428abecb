package gateway_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/testenv"
)

// deployDir holds the deployment examples the end-to-end tests run.
const deployDir = "../../deploy"

// lookTool finds a binary on PATH or in the sbin directories Debian puts
// nginx and fcgiwrap in, or skips the test saying what to install.
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	return testenv.LookPath(t, name, "the Debian package "+pkg)
}

// renderTemplate reads a deploy/ file and makes each replacement, failing
// if the file no longer contains what the test replaces: the example and
// the test must not drift apart.
func renderTemplate(t *testing.T, name string, replace [][2]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, r := range replace {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("deploy/%s no longer contains %q; update this test with the example", name, r[0])
		}
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNginx runs nginx in the foreground with the rendered server blocks
// included in a minimal main configuration, every path in a temporary
// directory, and waits until it accepts connections on port.
func startNginx(t *testing.T, port int, servers map[string]string) {
	t.Helper()
	bin := lookTool(t, "nginx", "nginx")
	dir := t.TempDir()
	var includes, user strings.Builder
	for name, conf := range servers {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&includes, "    include %s;\n", p)
	}
	if os.Geteuid() == 0 {
		user.WriteString("user root;\n") // workers must reach the temporary directories
	}
	main := fmt.Sprintf(`daemon off;
%sworker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 256; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
%[3]s}
`, user.String(), dir, includes.String())
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nnginx error.log:\n%s", out, log)
		}
	})
	waitForPort(t, port, "nginx", out)
}

func waitForPort(t *testing.T, port int, what string, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on port %d within 10s: %v\n%s", what, port, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startFcgiwrap runs fcgiwrap on a Unix socket in a temporary directory
// and returns the socket's path.
func startFcgiwrap(t *testing.T) string {
	t.Helper()
	bin := lookTool(t, "fcgiwrap", "fcgiwrap")
	sock := filepath.Join(t.TempDir(), "fcgiwrap.sock")
	cmd := exec.Command(bin, "-c", "4", "-s", "unix:"+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start fcgiwrap: %v", err)
	}
	t.Cleanup(func() {
		// fcgiwrap's children are in its process group; end them all.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("fcgiwrap output:\n%s", out)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("fcgiwrap did not create %s within 10s\n%s", sock, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
