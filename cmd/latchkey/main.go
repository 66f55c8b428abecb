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
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
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
		fmt.Fprintln(stderr, "latchkey: "+oneLine(a.describe(err)))
	}
	return exitCode(err)
}
