package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// `latchkey login URL --token -`, as the console's CLI login page says to
// run it, at a terminal: the token is asked for and not echoed (it read a
// line with no prompt, echoing the session token on the screen).
func TestLoginTokenFromATerminalIsAskedForAndNotEchoed(t *testing.T) {
	script, err := exec.LookPath("script") // util-linux: runs the command on a pseudo-terminal
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("script (util-linux) is needed to give the CLI a terminal")
		}
		t.Skip("script (util-linux) is not installed")
	}
	bin, err := exec.LookPath("latchkey") // this test binary, as the CLI (TestMain)
	if err != nil {
		t.Fatal(err)
	}
	s := servertest.Start(t)
	session := s.AdminSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qec", bin+" login "+s.URL+" --token -", "/dev/null")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuilder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Type once the prompt is shown, as a person would: the CLI turns echo
	// off right after printing it (a busy machine may take seconds to get
	// there, and a token typed earlier is echoed by the terminal itself).
	for !strings.Contains(out.String(), "Token: ") && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	_, _ = stdin.Write([]byte(session + "\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Token: ") || !strings.Contains(out.String(), "Logged in to "+s.URL) {
		t.Errorf("login at a terminal did not ask for the token, or did not log in:\n%s", out.String())
	}
	if strings.Contains(out.String(), session[8:]) {
		t.Errorf("the session token was echoed on the terminal:\n%s", out.String())
	}
}

// syncBuilder is a strings.Builder that the command's output and the test
// may use at once.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
