// Command latchkey is the Latchkey server and its command-line client.
//
// The client commands (login, tokens, users, service-accounts, policy,
// audit, git-credential) talk to a server only through the public Go
// package github.com/latchkey/latchkey/client.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(cliArgs(os.Args), os.Stdin, os.Stdout, os.Stderr))
}

// gitHelperName is the program Git runs for credential.helper "latchkey"
// or "latchkey git-credential" (it prepends "git-credential-"). Installed as
// a link to this binary under that name, latchkey is the credential helper.
const gitHelperName = "git-credential-latchkey"

// cliArgs returns the command line to run for argv, routing an invocation
// as git-credential-latchkey to the git-credential command.
func cliArgs(argv []string) []string {
	args := argv[1:]
	if strings.TrimSuffix(filepath.Base(argv[0]), ".exe") != gitHelperName {
		return args
	}
	if len(args) > 0 && args[0] == "git-credential" {
		return args
	}
	return append([]string{"git-credential"}, args...)
}

// run executes one command line and returns the process exit code; errors
// are printed as one line on stderr.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := newApp(stdin, stdout, stderr)
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	a.warnExpiry()
	if err != nil {
		if msg, ok := unknownTopLevel(err); ok {
			fmt.Fprint(stderr, msg)
		} else {
			fmt.Fprintln(stderr, "latchkey: "+oneLine(a.describe(err)))
		}
	}
	return exitCode(err)
}
