package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

func newTokensCmd(a *app) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:     "tokens",
		Aliases: []string{"token"},
		Short:   "Create, list, show, update, regenerate, revoke and exchange access tokens",
		Long: `Manage personal access tokens (and, for admins, other users' tokens and
service accounts' admin access tokens). A token is named by its id or its
name; names are looked up among your own tokens, or --user's.`,
		Example: `  latchkey tokens create --name ci-deploy --scope repo:read --lifetime 720h
  latchkey tokens list
  latchkey tokens show ci-deploy
  latchkey tokens regenerate ci-deploy --grace 10m
  latchkey tokens revoke ci-deploy --yes`,
	})
	cmd.AddCommand(newTokensCreateCmd(a), newTokensListCmd(a), newTokensShowCmd(a), newTokensUpdateCmd(a),
		newTokensRegenerateCmd(a), newTokensRevokeCmd(a), newTokensExchangeCmd(a))
	return cmd
}

type listFlags struct {
	all         bool
	user, state string
	scope, kind string
}

func newTokensListCmd(a *app) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List tokens, newest first",
		Long: `List your tokens, newest first; admins can list another user's (--user) or
every token in the organisation (--all). Revoked tokens are left out unless
--state revoked or --state any asks for them.`,
		Example: `  latchkey tokens list
  latchkey tokens list --state expiring
  latchkey tokens list --all --scope repo
  latchkey tokens list --user alice -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.listTokens(f) },
	}
	cmd.Flags().BoolVar(&f.all, "all", false, "every token in the organisation (admins)")
	cmd.Flags().StringVar(&f.user, "user", "", "this `USER`'s or service account's tokens (admins)")
	cmd.Flags().StringVar(&f.state, "state", "", "only tokens in this `STATE`: active, expiring, expired, revoked or any")
	cmd.Flags().StringVar(&f.scope, "scope", "", "only tokens holding this `SCOPE`")
	cmd.Flags().StringVar(&f.kind, "kind", "", "only this `KIND`: pat (personal), adm (admin access token) or fed (federation)")
	cmd.MarkFlagsMutuallyExclusive("all", "user")
	return cmd
}

func (a *app) listTokens(f listFlags) error {
	switch f.state {
	case "", "any", client.StateActive, client.StateExpiring, client.StateExpired, client.StateRevoked:
	default:
		return usageError("--state %q is not a state: use active, expiring, expired, revoked or any", f.state)
	}
	switch f.kind {
	case "", "pat", "adm", "fed":
	default:
		return usageError("--kind %q is not a kind: use pat (personal), adm (admin access token) or fed (federation)", f.kind)
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	opts := client.ListTokensOptions{UserID: f.user, All: f.all, Scope: f.scope, Kind: f.kind, Limit: 500}
	if f.state != "any" {
		opts.State = f.state
	}
	tokens := []client.Token{}
	for t, err := range cl.Tokens(a.ctx(), opts) {
		if err != nil {
			return err
		}
		if f.state == "" && t.State == client.StateRevoked {
			continue
		}
		tokens = append(tokens, t)
	}
	if ok, err := a.structured(tokens); ok {
		return err
	}
	if len(tokens) == 0 {
		_, err := fmt.Fprintln(a.stdout, "No tokens. Create one with `latchkey tokens create --name NAME`.")
		return err
	}
	withOwner := f.all || f.user != ""
	headers := []string{"NAME", "ID", "SCOPES", "STATE", "EXPIRES", "LAST USED"}
	var owners map[string]string
	if withOwner {
		headers = append(headers, "OWNER")
		owners = a.usernames(cl)
	}
	t := a.table(headers...)
	for _, tk := range tokens {
		row := []string{tk.Name, tk.ID, strings.Join(tk.Scopes, ","), tk.State, a.whenOr(tk.ExpiresAt, "never"), a.whenOr(tk.LastUsedAt, "never")}
		if withOwner {
			name := owners[tk.UserID]
			if name == "" {
				name = tk.UserID
			}
			row = append(row, name)
		}
		t.row(row...)
	}
	return t.flush()
}

// usernames maps user ids to names, as far as the caller may list users.
func (a *app) usernames(cl *client.Client) map[string]string {
	out := map[string]string{}
	for u, err := range cl.Users(a.ctx(), client.ListUsersOptions{Limit: 500}) {
		if err != nil {
			break
		}
		out[u.ID] = u.Username
	}
	return out
}

func newTokensShowCmd(a *app) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:               "show ID|NAME",
		Aliases:           []string{"get"},
		Short:             "Show one token in detail",
		Example:           "  latchkey tokens show ci-deploy\n  latchkey tokens show 0b0c3f3e-5a1c-4bd4-9b7e-3f0e8d1f2a6b -o json\n  latchkey tokens show deploy-bot --user alice",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTokenNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			t, err := a.findToken(cl, args[0], user)
			if err != nil {
				return err
			}
			if ok, err := a.structured(t); ok {
				return err
			}
			return a.fields(a.tokenRows(cl, t))
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "look the name up among this `USER`'s tokens (admins)")
	return cmd
}

func (a *app) tokenRows(cl *client.Client, t *client.Token) [][2]string {
	owner := t.UserID
	if u, err := cl.GetUser(a.ctx(), t.UserID); err == nil {
		owner = u.Username + " (" + u.ID + ")"
	}
	lastUsed := a.whenStamp(t.LastUsedAt, "never")
	if t.LastUsedAt != nil && t.LastUsedIP != "" {
		lastUsed += " from " + t.LastUsedIP
		if t.LastUsedUserAgent != "" {
			lastUsed += " (" + t.LastUsedUserAgent + ")"
		}
	}
	rows := [][2]string{
		{"Name", t.Name},
		{"ID", t.ID},
		{"Kind", kindName(t.Kind)},
		{"Owner", owner},
		{"State", t.State},
		{"Description", t.Description},
		{"Scopes", strings.Join(t.Scopes, " ")},
		{"Hint", "…" + t.Hint},
		{"Created", a.whenStamp(&t.CreatedAt, "")},
		{"Expires", a.whenStamp(t.ExpiresAt, "never")},
		{"Last used", lastUsed},
		{"Recent IPs", strings.Join(t.RecentIPs, ", ")},
	}
	if len(t.IPAllowlist) > 0 {
		rows = append(rows, [2]string{"IP allowlist", strings.Join(t.IPAllowlist, ", ")})
	}
	if t.RegeneratedAt != nil {
		rows = append(rows, [2]string{"Regenerated", a.whenStamp(t.RegeneratedAt, "")})
	}
	if t.GraceExpiresAt != nil {
		rows = append(rows, [2]string{"Old secret works until", a.whenStamp(t.GraceExpiresAt, "")})
	}
	if t.RevokedAt != nil {
		rows = append(rows, [2]string{"Revoked", a.whenStamp(t.RevokedAt, "")})
	}
	return rows
}
