package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "latchkey",
		Short: "Personal access tokens done right",
		Long: `Latchkey issues named, scoped, expiring personal access tokens that your
platform's APIs, Git server and CI accept, governed by admin policy.

Run the server with "latchkey serve"; manage tokens with the other commands.
Log in once with "latchkey login URL", or set LATCHKEY_URL and LATCHKEY_TOKEN
(as CI does) and skip the login.

Environment:
  LATCHKEY_URL      server URL; overrides the current context's
  LATCHKEY_TOKEN    access token; overrides the current context's credential
  LATCHKEY_CONTEXT  stored context to use instead of the current one
  XDG_CONFIG_HOME   where the config file lives (default ~/.config):
                    $XDG_CONFIG_HOME/latchkey/config.json

Exit codes are documented in "latchkey help exit-codes".`,
		Example: `  # Log in, create a token for CI and print only its secret
  latchkey login https://latchkey.example.com
  latchkey tokens create --name ci-deploy --scope repo:read --lifetime 720h -q

  # No login in CI: the environment is enough
  LATCHKEY_URL=https://latchkey.example.com LATCHKEY_TOKEN=$TOKEN latchkey whoami`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.cmdCtx = cmd.Context()
			return a.checkOutput()
		},
	}
	root.PersistentFlags().StringVar(&a.contextFlag, "context", "", "stored context `NAME` to use (see \"latchkey context list\")")
	root.PersistentFlags().StringVarP(&a.output, "output", "o", outTable, "output `FORMAT`: table, json or yaml")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		// `tokens craete --name x`: the mistyped subcommand is the problem,
		// not the flag its parent does not know.
		if cmd.HasAvailableSubCommands() {
			if args := cmd.Flags().Args(); len(args) > 0 {
				return unknownSubcommand(cmd, args[0])
			}
		}
		return fail(exitUsage, fmt.Errorf("%w; see `%s --help`", err, cmd.CommandPath()))
	})
	root.AddCommand(
		newServeCmd(), newVersionCmd(a),
		newLoginCmd(a), newLogoutCmd(a), newWhoamiCmd(a), newContextCmd(a),
		newTokensCmd(a), newSessionsCmd(a), newUsersCmd(a), newServiceAccountsCmd(a), newPolicyCmd(a), newAuditCmd(a),
		newGitCredentialCmd(a), newScanCmd(a), newExitCodesTopic(), newJobsCmd(a),
	)
	root.AddCommand(newFederationCmd(a))
	root.AddCommand(newKeysCmd())
	root.AddCommand(newMigrateCmd())
	root.AddCommand(newAdminCmd())
	root.AddCommand(newHealthcheckCmd())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	describeBuiltins(root)
	registerCompletions(a, root)
	explainArgs(root)
	return root
}

// describeBuiltins gives cobra's help and completion commands examples
// like every other command.
func describeBuiltins(root *cobra.Command) {
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  latchkey help tokens create\n  latchkey help exit-codes"
			// A topic there is none of is a usage error on one line, not
			// cobra's "Unknown help topic" and the whole usage with exit 0.
			c.Run = nil
			c.RunE = func(cmd *cobra.Command, args []string) error {
				target, rest, err := cmd.Root().Find(args)
				if err != nil || target == nil || len(rest) > 0 {
					return usageError("no help topic %q: see `latchkey --help` for the commands and topics", strings.Join(args, " "))
				}
				target.InitDefaultHelpFlag()
				target.InitDefaultVersionFlag()
				return target.Help()
			}
		case "completion":
			c.Example = `  # bash, for this shell and for every new one
  source <(latchkey completion bash)
  latchkey completion bash > /etc/bash_completion.d/latchkey

  # zsh and fish
  latchkey completion zsh > "${fpath[1]}/_latchkey"
  latchkey completion fish > ~/.config/fish/completions/latchkey.fish`
			// A shell cobra has no script for is an error, not help on
			// stdout with exit 0 (which `> file` would install).
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					return usageError("no completion for shell %q: choose bash, zsh, fish or powershell", args[0])
				}
				return cmd.Help()
			}
			for _, sh := range c.Commands() {
				sh.Example = map[string]string{
					"bash":       "  source <(latchkey completion bash)",
					"zsh":        "  latchkey completion zsh > \"${fpath[1]}/_latchkey\"",
					"fish":       "  latchkey completion fish | source",
					"powershell": "  latchkey completion powershell | Out-String | Invoke-Expression",
				}[sh.Name()]
			}
		}
	}
}

// explainArgs makes every wrong-argument error say how the command is used.
func explainArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError("%v; usage: %s", err, cmd.UseLine())
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		explainArgs(sub)
	}
}

// group makes cmd a parent of subcommands that refuses an unknown
// subcommand (exit 1, with suggestions) instead of printing help and
// succeeding.
func group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.SuggestionsMinimumDistance = 2
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		return unknownSubcommand(cmd, args[0])
	}
	return cmd
}

// unknownSubcommand is the error for `PARENT name` when PARENT has no
// subcommand name, with the closest ones suggested.
func unknownSubcommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return fail(exitUsage, fmt.Errorf("%s; see `%s --help`", msg, cmd.CommandPath()))
}

// usageError is a bad-input error with exit code 1.
func usageError(format string, args ...any) error {
	return fail(exitUsage, fmt.Errorf(format, args...))
}

// unknownTopLevel renders cobra's "unknown command" error for a mistyped
// top-level command (`latchkey tokns`) as one line, like a subcommand's:
// the error, cobra's suggestions, and where the list of commands is.
func unknownTopLevel(err error) (string, bool) {
	msg := err.Error()
	if !strings.HasPrefix(msg, "unknown command ") || !strings.Contains(msg, ` for "latchkey"`) {
		return "", false
	}
	first, rest, _ := strings.Cut(msg, "\n")
	line := "latchkey: " + strings.TrimSpace(first)
	var suggestions []string
	for _, l := range strings.Split(rest, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasSuffix(l, "?") { // "Did you mean this?"
			suggestions = append(suggestions, l)
		}
	}
	if len(suggestions) > 0 {
		line += "; did you mean " + strings.Join(suggestions, " or ") + "?"
	}
	return line + "; see `latchkey --help` for the list of commands\n", true
}

// flagGroupError rewrites cobra's flag-group errors ("if any flags in the
// group [lifetime no-expiry] are set none of the others can be; ...") as one
// line naming the flags.
func flagGroupError(msg string) (string, bool) {
	flags := func(list string) string {
		names := strings.Fields(list)
		for i, n := range names {
			names[i] = "--" + n
		}
		switch len(names) {
		case 0:
			return ""
		case 1:
			return names[0]
		}
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
	if m := reExclusive.FindStringSubmatch(msg); m != nil {
		return flags(m[2]) + " cannot be used together: give only one of " + strings.ReplaceAll(flags(m[1]), " and ", " or "), true
	}
	if m := reTogether.FindStringSubmatch(msg); m != nil {
		return flags(m[1]) + " go together: add " + flags(m[2]), true
	}
	if m := reOneRequired.FindStringSubmatch(msg); m != nil {
		return "give one of " + strings.ReplaceAll(flags(m[1]), " and ", " or "), true
	}
	if m := reRequired.FindStringSubmatch(msg); m != nil { // `required flag(s) "name", "user" not set`
		names := strings.ReplaceAll(strings.ReplaceAll(m[1], `"`, ""), ",", "")
		if strings.Contains(names, " ") {
			return flags(names) + " are required", true
		}
		return flags(names) + " is required", true
	}
	return "", false
}

var (
	reExclusive   = regexp.MustCompile(`if any flags in the group \[([^\]]*)\] are set none of the others can be; \[([^\]]*)\] were all set`)
	reTogether    = regexp.MustCompile(`if any flags in the group \[([^\]]*)\] are set they must all be set; missing \[([^\]]*)\]`)
	reOneRequired = regexp.MustCompile(`at least one of the flags in the group \[([^\]]*)\] is required`)
	reRequired    = regexp.MustCompile(`^required flag\(s\) (.*) not set$`)
)
