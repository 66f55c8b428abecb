package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

type regenerateFlags struct {
	expiryFlags
	user, grace string
	quiet       bool
}

func newTokensRegenerateCmd(a *app) *cobra.Command {
	var f regenerateFlags
	cmd := &cobra.Command{
		Use:     "regenerate ID|NAME [flags]",
		Aliases: []string{"rotate"},
		Short:   "Give a token a new secret, keeping its name and scopes",
		Long: `Give a token a new secret and print it, once. The old secret stops working
at once, or after --grace so that a deployment can roll over without
downtime. The expiration is kept unless --lifetime, --expires or --no-expiry
sets a new one.`,
		Example: `  latchkey tokens regenerate ci-deploy
  latchkey tokens regenerate ci-deploy --lifetime 90d --grace 10m
  NEW=$(latchkey tokens regenerate ci-deploy -q)`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTokenNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			at, err := f.at()
			if err != nil {
				return err
			}
			t, err := a.findToken(cl, args[0], f.user)
			if err != nil {
				return err
			}
			it, err := cl.RegenerateToken(a.ctx(), t.ID, client.RegenerateTokenRequest{
				ExpiresIn: f.lifetime, ExpiresAt: at, NoExpiry: f.noExpiry, GracePeriod: f.grace})
			if err != nil {
				return apiFieldsAsFlags(err)
			}
			return a.printIssued(it, f.quiet, "Regenerated")
		},
	}
	f.expiryFlags.bind(cmd)
	cmd.Flags().StringVar(&f.grace, "grace", "", "keep the old secret working this `DURATION`, e.g. 10m (at most 7d)")
	cmd.Flags().StringVar(&f.user, "user", "", "look the name up among this `USER`'s tokens (admins)")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "print only the new secret")
	return cmd
}

func newTokensRevokeCmd(a *app) *cobra.Command {
	var user string
	var yes bool
	cmd := &cobra.Command{
		Use:     "revoke ID|NAME...",
		Aliases: []string{"delete", "rm"},
		Short:   "Revoke tokens for good",
		Long: `Revoke tokens: from that moment every request made with them is refused,
and they cannot be restored. On a terminal you are asked to confirm; without
one, pass --yes.`,
		Example: `  latchkey tokens revoke ci-deploy
  latchkey tokens revoke old-laptop old-ci --yes`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.completeTokenNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			var targets []*client.Token
			for _, ref := range args {
				t, err := a.findToken(cl, ref, user)
				if err != nil {
					return err
				}
				targets = append(targets, t)
			}
			if err := a.confirm(revokeQuestion(targets), yes); err != nil {
				return err
			}
			for _, t := range targets {
				if err := cl.RevokeToken(a.ctx(), t.ID); err != nil {
					return fmt.Errorf("revoke %q: %w", t.Name, err)
				}
				if a.output == outTable {
					fmt.Fprintf(a.stdout, "Revoked token %q (id %s).\n", t.Name, t.ID)
				}
			}
			if ok, err := a.structured(revokedView(targets)); ok {
				return err
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().StringVar(&user, "user", "", "look names up among this `USER`'s tokens (admins)")
	return cmd
}

func revokeQuestion(ts []*client.Token) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = fmt.Sprintf("%q", t.Name)
	}
	return fmt.Sprintf("Revoke %s? Every request using it will be refused, for good.", strings.Join(names, ", "))
}

func revokedView(ts []*client.Token) []map[string]string {
	out := make([]map[string]string, len(ts))
	for i, t := range ts {
		out[i] = map[string]string{"id": t.ID, "name": t.Name, "state": client.StateRevoked}
	}
	return out
}

func newTokensExchangeCmd(a *app) *cobra.Command {
	var scopes []string
	var audience string
	cmd := &cobra.Command{
		Use:   "exchange [flags]",
		Short: "Trade the current token for a short-lived signed JWT (RFC 8693)",
		Long: `Exchange the access token in use for a short-lived JWT signed by the
server, optionally narrowed to some scopes and meant for one audience, and
print it. Services verify such JWTs offline with the keys published at
/.well-known/jwks.json.`,
		Example: `  latchkey tokens exchange
  JWT=$(latchkey tokens exchange --scope repo:read --audience https://git.example.com)
  latchkey tokens exchange -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			res, err := cl.ExchangeToken(a.ctx(), client.ExchangeRequest{Scopes: scopes, Audience: audience})
			if err != nil {
				return fmt.Errorf("token exchange refused: %w", err)
			}
			if ok, err := a.structured(res); ok {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, res.AccessToken)
			return err
		},
	}
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "narrow the JWT to this `SCOPE`, repeatable (default: all of the token's)")
	cmd.Flags().StringVar(&audience, "audience", "", "the `AUDIENCE`: the service the JWT is meant for")
	return cmd
}
