package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

func newSessionsCmd(a *app) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:     "sessions",
		Aliases: []string{"session"},
		Short:   "List and end your login sessions",
		Long: `Sessions are where you are logged in: browsers, and the CLI itself. List
them to spot one you do not recognise, and end it; or end all of them but
the one this CLI uses ("log out everywhere else"). Changing your password
also ends your other sessions. Admins see another user's with --user.`,
		Example: `  latchkey sessions list
  latchkey sessions revoke 0192f0c4-7d2e-7c4a-9b1e-5f0a7d3c2b1a
  latchkey sessions revoke --all`,
	})
	cmd.AddCommand(newSessionsListCmd(a), newSessionsRevokeCmd(a))
	return cmd
}

func newSessionsListCmd(a *app) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List live sessions, newest first",
		Example: "  latchkey sessions list\n  latchkey sessions list --user alice -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			ss, err := client.Collect(cl.AllSessions(a.ctx(), client.ListSessionsOptions{UserID: user, Limit: 500}))
			if err != nil {
				return err
			}
			if ss == nil {
				ss = []client.Session{}
			}
			if ok, err := a.structured(ss); ok {
				return err
			}
			t := a.table("ID", "CLIENT", "ADDRESS", "CREATED", "LAST USED", "EXPIRES", "")
			for _, s := range ss {
				current := ""
				if s.Current {
					current = "(current)"
				}
				last := ""
				if s.LastUsedAt != nil {
					last = humanTime(*s.LastUsedAt, a.now())
				}
				t.row(s.ID, s.UserAgent, s.IP, humanTime(s.CreatedAt, a.now()), last, humanTime(s.ExpiresAt, a.now()), current)
			}
			return t.flush()
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "list this `USER`'s sessions (id or user name; admins)")
	return cmd
}

func newSessionsRevokeCmd(a *app) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:     "revoke ID | --all",
		Aliases: []string{"end"},
		Short:   "End one session, or all but the current one (--all)",
		Long: `End one session by id (from "latchkey sessions list"), with the sessions it
minted at /cli-auth; or, with --all, every one of your sessions except the
one this CLI is using.`,
		Example: "  latchkey sessions revoke 0192f0c4-7d2e-7c4a-9b1e-5f0a7d3c2b1a\n  latchkey sessions revoke --all",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case all && len(args) > 0:
				return usageError("give a session ID or --all, not both")
			case !all && len(args) == 0:
				return usageError("give the ID of the session to end (see \"latchkey sessions list\"), or --all to end all but the current one")
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			if all {
				if err := cl.RevokeOtherSessions(a.ctx()); err != nil {
					return err
				}
				if a.output == outTable {
					fmt.Fprintln(a.stdout, "Logged out everywhere else.")
				}
				return nil
			}
			if err := cl.RevokeSession(a.ctx(), args[0]); err != nil {
				return err
			}
			if a.output == outTable {
				fmt.Fprintf(a.stdout, "Session %s ended.\n", args[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "end every session but the one this CLI uses")
	return cmd
}
