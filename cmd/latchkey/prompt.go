package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// maxLine bounds a line read from standard input: no token, name or
// password comes near.
const maxLine = 64 << 10

// terminal returns standard input's descriptor when it is a terminal, the
// only place latchkey asks questions.
func (a *app) terminal() (int, bool) {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// readLine reads one line from standard input, a byte at a time so that
// nothing past the line is consumed, and trims it. EOF before any byte is
// an error.
func (a *app) readLine() (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < maxLine {
		n, err := a.stdin.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			b.WriteByte(buf[0])
		}
		if errors.Is(err, io.EOF) {
			if b.Len() == 0 {
				return "", io.EOF
			}
			break
		}
		if err != nil {
			return "", fmt.Errorf("read standard input: %w", err)
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// ask shows label on stderr and reads the answer from the terminal, echoed.
func (a *app) ask(label string) (string, error) {
	fmt.Fprint(a.stderr, label)
	s, err := a.readLine()
	if errors.Is(err, io.EOF) {
		return "", fail(exitCancelled, errors.New("no answer given"))
	}
	return s, err
}

// askSecret shows label on stderr and reads the answer from the terminal
// without echoing it.
func (a *app) askSecret(fd int, label string) (string, error) {
	fmt.Fprint(a.stderr, label)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(a.stderr)
	if err != nil {
		return "", fmt.Errorf("read from the terminal: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// stdinSecret reads a secret piped on standard input (--password-stdin,
// --token -): its first line.
func (a *app) stdinSecret(what string) (string, error) {
	s, err := a.readLine()
	if errors.Is(err, io.EOF) || (err == nil && s == "") {
		return "", fail(exitUsage, fmt.Errorf("expected the %s on standard input, got nothing", what))
	}
	return s, err
}

// confirm asks a yes/no question on the terminal; yes (from --yes) skips
// it. Without a terminal it refuses rather than wait for an answer that
// cannot come.
func (a *app) confirm(question string, yes bool) error {
	if yes {
		return nil
	}
	if _, ok := a.terminal(); !ok {
		return fail(exitUsage, errors.New("refusing to go on without confirmation: standard input is not a terminal to ask on; pass --yes to confirm"))
	}
	ans, err := a.ask(question + " [y/N]: ")
	if err != nil {
		return err
	}
	switch strings.ToLower(ans) {
	case "y", "yes":
		return nil
	}
	return fail(exitCancelled, errors.New("cancelled; nothing was changed"))
}
