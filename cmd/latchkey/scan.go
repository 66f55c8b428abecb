package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/token"
)

// exitFound is scan's exit code when it found tokens (like grep's 0/1, but
// distinct from every error code).
const exitFound = 10

// maxScanFile skips files too large to be source or configuration.
const maxScanFile = 64 << 20

// finding is one token found in a file. The secret itself is kept only to
// report it; it is never printed.
type finding struct {
	Path   string `json:"path" yaml:"path"`
	Line   int    `json:"line" yaml:"line"`
	Kind   string `json:"kind" yaml:"kind"`
	Masked string `json:"token" yaml:"token"`
	Status string `json:"status,omitempty" yaml:"status,omitempty"`
	secret string
}

func newScanCmd(a *app) *cobra.Command {
	var revoke bool
	var prefix string
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Find Latchkey tokens in files, and revoke them",
		Long: `Scan files and directories for Latchkey tokens. Only strings whose checksum
verifies are reported, so there are no false positives; the secrets are
printed masked. With --revoke the tokens found are reported to the server of
the current context (or LATCHKEY_URL) as leaked, and every live one among
them is revoked at once; reporting needs no credential.

Exit codes: 0 nothing found, 10 tokens found (and, with --revoke, reported),
others as in "latchkey help exit-codes". Directories named .git are skipped.`,
		Example: `  # Check a repository before pushing it
  latchkey scan .

  # Kill every token someone pasted into a log file
  latchkey scan --revoke build.log

  # Only tokens of a deployment that issues op_pat_... tokens
  latchkey scan --prefix op ./deploy`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if prefix != "" {
				if err := token.ValidatePrefix(prefix); err != nil {
					return fail(exitUsage, fmt.Errorf("--prefix: %w", err))
				}
			}
			found, err := scanPaths(args, prefix)
			if err != nil {
				return err
			}
			if revoke && len(found) > 0 {
				if err := a.reportFound(found); err != nil {
					return err
				}
			}
			if err := a.printFindings(found); err != nil {
				return err
			}
			if len(found) > 0 {
				return fail(exitFound, fmt.Errorf("found %d token(s)", len(found)))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&revoke, "revoke", false, "report the tokens found as leaked, which revokes the live ones")
	cmd.Flags().StringVar(&prefix, "prefix", "", "only tokens with this `PREFIX` (default: any)")
	return cmd
}

func scanPaths(paths []string, prefix string) ([]finding, error) {
	var found []finding
	for _, root := range paths {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".git" && path != root {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if info, err := d.Info(); err != nil || info.Size() > maxScanFile {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, f := range token.Find(data, prefix) {
				found = append(found, finding{Path: path, Line: f.Line, Kind: tokenKind(f.Token), Masked: mask(f.Token), secret: f.Token})
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fail(exitNotFound, fmt.Errorf("%s does not exist", root))
		}
		if err != nil {
			return nil, fail(exitUsage, fmt.Errorf("scan %s: %w", root, err))
		}
	}
	return found, nil
}

// mask keeps the prefix, kind and last four characters of a token.
func mask(tok string) string {
	i := strings.LastIndexByte(tok, '_')
	return tok[:i+1] + "…" + token.Hint(tok)
}

// fileURL names a scanned file as an absolute file:// URL, whatever
// directory the scan ran from (file://notes/leak.log would read as a host).
func fileURL(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

func (a *app) reportFound(found []finding) error {
	server, err := a.reportServer()
	if err != nil {
		return err
	}
	cl, err := client.New(server, client.WithUserAgent("latchkey-cli/"+version))
	if err != nil {
		return fail(exitConfig, err)
	}
	reports := make([]client.LeakReport, 0, len(found))
	for _, f := range found {
		reports = append(reports, client.LeakReport{Token: f.secret, Type: "latchkey_" + f.Kind, URL: fileURL(f.Path), Source: "latchkey scan"})
	}
	verdicts, err := cl.ReportLeaks(a.ctx(), reports)
	if err != nil {
		return err
	}
	for i := range found {
		found[i].Status = "not a token of " + server
		if i < len(verdicts) && verdicts[i].Label == "true_positive" {
			found[i].Status = "revoked"
		}
	}
	return nil
}

// reportServer is the server leaks are reported to. Reporting needs no
// credential, so a server named by LATCHKEY_URL is enough: no login.
func (a *app) reportServer() (string, error) {
	if u := strings.TrimSpace(os.Getenv(envURL)); u != "" && a.contextFlag == "" && os.Getenv(envContext) == "" {
		if _, err := client.ParseURL(u); err != nil {
			return "", fail(exitUsage, fmt.Errorf("%s: %w", envURL, err))
		}
		return u, nil
	}
	c, err := a.resolve()
	if e := (*exitError)(nil); errors.As(err, &e) && e.code == exitAuth {
		return "", fail(exitAuth, fmt.Errorf("--revoke reports to a server, and none is known: set %s (no login needed) or log in with `latchkey login URL`", envURL))
	}
	if err != nil {
		return "", err
	}
	return c.URL, nil
}

func (a *app) printFindings(found []finding) error {
	if ok, err := a.structured(found); ok || err != nil {
		return err
	}
	if len(found) == 0 {
		fmt.Fprintln(a.stdout, "no tokens found")
		return nil
	}
	for _, f := range found {
		// A path is whatever the scanned tree's author named the file:
		// escape sequences and line breaks are shown, never obeyed.
		line := fmt.Sprintf("%s:%d: %s (%s)", terminalText(f.Path), f.Line, f.Masked, f.Kind)
		if f.Status != "" {
			line += ": " + f.Status
		}
		fmt.Fprintln(a.stdout, line)
	}
	return nil
}
