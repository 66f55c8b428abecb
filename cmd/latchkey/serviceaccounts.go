package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

func newServiceAccountsCmd(a *app) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:     "service-accounts",
		Aliases: []string{"service-account", "sa"},
		Short:   "Manage service accounts and their admin access tokens (admins)",
		Long: `Service accounts are users that cannot log in. They hold admin access
tokens (kind adm) for shared automation, which keep working when the person
who created them leaves.`,
		Example: `  latchkey service-accounts create release-bot --role admin
  latchkey service-accounts token create release-bot --name ci --scope repo --lifetime 90d -q
  latchkey service-accounts token list release-bot
  latchkey service-accounts delete release-bot --yes`,
	})
	tokens := group(&cobra.Command{
		Use:     "token",
		Aliases: []string{"tokens"},
		Short:   "Create and list a service account's admin access tokens",
		Example: "  latchkey service-accounts token create release-bot --name ci --scope repo\n  latchkey service-accounts token list release-bot",
	})
	tokens.AddCommand(newServiceTokenCreateCmd(a), newServiceTokenListCmd(a))
	cmd.AddCommand(newUsersListCmd(a, client.KindService), newServiceAccountCreateCmd(a), newUsersDeleteCmd(a, "service account"), tokens)
	return cmd
}

func newServiceAccountCreateCmd(a *app) *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a service account",
		Example: "  latchkey service-accounts create release-bot\n  latchkey service-accounts create auditor --role admin",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			u, err := cl.CreateUser(a.ctx(), client.CreateUserRequest{Username: args[0], Role: role, Kind: client.KindService})
			if err != nil {
				return err
			}
			if ok, err := a.structured(u); ok {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Created service account %s (%s, id %s).\n", terminalText(u.Username), terminalText(u.Role), terminalText(u.ID))
			return err
		},
	}
	cmd.Flags().StringVar(&role, "role", client.RoleMember, "`ROLE`, admin or member: the most its tokens may ever do")
	return cmd
}

func newServiceTokenCreateCmd(a *app) *cobra.Command {
	cmd := newTokensCreateCmd(a)
	cmd.Use = "create ACCOUNT --name NAME [flags]"
	cmd.Short = "Create an admin access token for a service account"
	cmd.Example = `  latchkey service-accounts token create release-bot --name ci --scope repo --lifetime 90d
  TOKEN=$(latchkey service-accounts token create release-bot --name nightly -q)`
	cmd.Args = cobra.ExactArgs(1)
	cmd.ValidArgsFunction = a.completeUsers(client.KindService)
	_ = cmd.Flags().MarkHidden("service-account")
	_ = cmd.Flags().MarkHidden("user")
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := c.Flags().Set("service-account", args[0]); err != nil {
			return err
		}
		return run(c, nil)
	}
	return cmd
}

func newServiceTokenListCmd(a *app) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:               "list ACCOUNT",
		Aliases:           []string{"ls"},
		Short:             "List a service account's admin access tokens",
		Example:           "  latchkey service-accounts token list release-bot",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeUsers(client.KindService),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.user = args[0]
			return a.listTokens(f)
		},
	}
	cmd.Flags().StringVar(&f.state, "state", "", "only tokens in this `STATE`: active, expiring, expired, revoked or any")
	return cmd
}
