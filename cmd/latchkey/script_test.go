package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestMain lets the test binary run as the latchkey command: scripts exec
// the real CLI, in its own process, with its real exit codes.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"latchkey":                func() { os.Exit(run(cliArgs(os.Args), os.Stdin, os.Stdout, os.Stderr)) },
		"git-credential-latchkey": func() { os.Exit(run(cliArgs(os.Args), os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScript runs every testdata/script/*.txtar against a fresh server of
// its own. The script sees:
//
//	$SERVER   the server's URL            $HOST   its host:port
//	$ADMIN_PASSWORD                       the first owner (admin)'s password
//	$CONFIG   the config file latchkey writes ($XDG_CONFIG_HOME/latchkey/config.json)
//	$GITURL   a Git server behind Latchkey authentication, when git is installed
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               func(env *testscript.Env) error { return setupScript(t, env) },
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"envfile":  cmdEnvfile,
			"envsubst": cmdEnvsubst,
			"mode":     cmdMode,
			"sleep":    cmdSleep,
			"status":   cmdStatus,
		},
		Condition: func(cond string) (bool, error) {
			if cond == "git" {
				_, err := gitPath()
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

func setupScript(t *testing.T, env *testscript.Env) error {
	s := servertest.Start(scriptTB{TB: t, env: env})
	u, err := url.Parse(s.URL)
	if err != nil {
		return err
	}
	home := filepath.Join(env.WorkDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	env.Setenv("SERVER", s.URL)
	env.Setenv("HOST", u.Host)
	env.Setenv("PORT", u.Port())
	env.Setenv("ADMIN_PASSWORD", servertest.AdminPassword)
	env.Setenv("HOME", home)
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "config"))
	env.Setenv("CONFIG", filepath.Join(env.WorkDir, "config", "latchkey", "config.json"))
	env.Setenv("TZ", "UTC")
	env.Setenv("DEADURL", "http://"+freeAddr())
	if err := startFakeServers(env); err != nil {
		return err
	}
	// Under -race every exec would otherwise sleep a second on exit.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		env.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	for _, k := range []string{envURL, envToken, envContext} {
		env.Setenv(k, "")
	}
	if _, err := gitPath(); err == nil {
		g, err := startGitServer(env, s.URL)
		if err != nil {
			return err
		}
		env.Setenv("GITURL", g)
		if gu, err := url.Parse(g); err == nil {
			env.Setenv("GITHOST", gu.Host)
		}
		env.Setenv("GIT_TERMINAL_PROMPT", "0")
		env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	}
	return nil
}

// scriptTB scopes a server to one script: it stops when the script ends.
type scriptTB struct {
	testing.TB
	env *testscript.Env
}

func (s scriptTB) Cleanup(f func()) { s.env.Defer(f) }

// cmdEnvfile sets an environment variable to a file's trimmed content
// (stdout and stderr name the last command's output): envfile VAR FILE.
func cmdEnvfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}

// cmdStatus runs a program and checks its exit code, keeping its output
// for stdout and stderr checks: status 3 latchkey tokens show nope.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

// cmdEnvsubst replaces $VAR references in files with their values, in
// place, for files fed to stdin: envsubst FILE...
func cmdEnvsubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: envsubst FILE...")
	}
	for _, f := range args {
		out := os.Expand(ts.ReadFile(f), ts.Getenv)
		ts.Check(os.WriteFile(ts.MkAbs(f), []byte(out), 0o644))
	}
}

// cmdMode checks a file's permission bits: mode 0600 FILE.
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode PERM FILE")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	info, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	got := uint64(info.Mode().Perm())
	if (got == want) == neg {
		ts.Fatalf("%s has mode %04o; want %s%04o", args[1], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// cmdSleep waits: sleep 500ms. Only for giving a background command time
// to notice something; never to measure anything.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// freeAddr names an address nothing listens on, for scripts that need an
// unreachable server: the listener is closed again at once.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:9"
	}
	defer l.Close()
	return l.Addr().String()
}
