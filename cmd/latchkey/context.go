package main

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newContextCmd(a *app) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:     "context",
		Aliases: []string{"contexts"},
		Short:   "List, switch and delete stored contexts (servers you logged in to)",
		Long: `A context is a server URL and the credential to use there, stored by
"latchkey login". Commands use the current context, or the one --context or
LATCHKEY_CONTEXT names; LATCHKEY_URL and LATCHKEY_TOKEN override it.`,
		Example: `  latchkey context list
  latchkey context use prod
  latchkey context delete staging`,
	})
	cmd.AddCommand(newContextListCmd(a), newContextUseCmd(a), newContextDeleteCmd(a))
	return cmd
}

// contextJSON is a context as -o json shows it: never with its secret.
type contextJSON struct {
	Name      string     `json:"name"`
	URL       string     `json:"url"`
	Username  string     `json:"username"`
	Auth      string     `json:"auth"`
	ExpiresAt *time.Time `json:"expires_at"`
	Current   bool       `json:"current"`
}

func contextView(name string, sc *storedContext, current bool) contextJSON {
	return contextJSON{Name: name, URL: sc.URL, Username: sc.Username, Auth: sc.Auth, ExpiresAt: sc.ExpiresAt, Current: current}
}

func newContextListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List stored contexts; the current one is marked with *",
		Example: `  latchkey context list
  latchkey context list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			views := []contextJSON{}
			for _, n := range cfg.names() {
				views = append(views, contextView(n, cfg.Contexts[n], n == cfg.CurrentContext))
			}
			if ok, err := a.structured(views); ok {
				return err
			}
			if len(views) == 0 {
				_, err := fmt.Fprintln(a.stdout, "No contexts; log in with `latchkey login URL`.")
				return err
			}
			t := a.table("CURRENT", "NAME", "URL", "USER", "CREDENTIAL")
			for _, v := range views {
				mark := " "
				if v.Current {
					mark = "*"
				}
				t.row(mark, v.Name, v.URL, v.Username, a.credentialText(v.Auth, v.ExpiresAt))
			}
			return t.flush()
		},
	}
}

func newContextUseCmd(a *app) *cobra.Command {
	var f loginFlags
	cmd := &cobra.Command{
		Use:   "use NAME|URL",
		Short: "Make a stored context the current one, or log in to a server URL",
		Long: `Make the stored context NAME the current one.

Given a server URL instead (and optionally --token), it is the same as
"latchkey login URL": okteto's "context use URL --token T" works here too.`,
		Example: `  latchkey context use prod

  # The same as: latchkey login https://latchkey.example.com --token "$TOKEN"
  latchkey context use https://latchkey.example.com --token "$TOKEN"`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			_, stored := cfg.Contexts[args[0]]
			if f.token != "" || (!stored && looksLikeURL(args[0])) {
				return a.login(cmd, args, f)
			}
			sc, err := cfg.lookup(args[0])
			if err != nil {
				return err
			}
			cfg.CurrentContext = args[0]
			if err := cfg.save(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Now using context %q (%s as %s).\n", args[0], sc.URL, terminalText(sc.Username))
			return err
		},
	}
	cmd.Flags().StringVar(&f.token, "token", "", "log in to the server URL with this access `TOKEN`, as `latchkey login URL --token` (\"-\" reads it from standard input)")
	return cmd
}

// looksLikeURL tells a server address (https://x, localhost:8080) from a
// context name.
func looksLikeURL(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	host, _, _ := strings.Cut(s, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return isLoopback(strings.Trim(host, "[]"))
}

func newContextDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Forget a stored context and its credential",
		Long: `Delete a context from the config file. The credential is only forgotten
here: use "latchkey logout" to also end a session on the server, and
"latchkey tokens revoke" to revoke an access token.`,
		Example:           `  latchkey context delete staging`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if _, err := cfg.lookup(args[0]); err != nil {
				return err
			}
			delete(cfg.Contexts, args[0])
			if cfg.CurrentContext == args[0] {
				cfg.CurrentContext = ""
			}
			if err := cfg.save(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Deleted context %q.\n", args[0])
			return err
		},
	}
}
