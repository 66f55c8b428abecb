package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/client"
)

// completionTimeout bounds how long a completion waits for the server, so
// that a slow server never freezes the shell.
const completionTimeout = 3 * time.Second

type completeFunc = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// registerCompletions attaches value completion to flags by name, wherever
// they appear: scopes from the server's catalog, users from its user list,
// contexts from the config file, and fixed lists for the rest.
func registerCompletions(a *app, root *cobra.Command) {
	byName := map[string]completeFunc{
		"scope":            a.completeScopes,
		"add-scope":        a.completeScopes,
		"remove-scope":     a.completeScopes,
		"state":            fixed(client.StateActive, client.StateExpiring, client.StateExpired, client.StateRevoked, "any"),
		"role":             fixed(client.RoleOwner, client.RoleAdmin, client.RoleMember),
		"creation":         fixed("everyone", "admins"),
		"user":             a.completeUsers(""),
		"service-account":  a.completeUsers(client.KindService),
		"lifetime":         fixed("7d", "30d", "60d", "90d", "180d"),
		"default-lifetime": fixed("7d", "30d", "60d", "90d", "180d"),
		"max-lifetime":     fixed("30d", "60d", "90d", "180d", "365d", "none"),
		"action":           fixed("token.", "user.", "auth.", "policy."),
	}
	_ = root.RegisterFlagCompletionFunc("output", fixed(outputFormats...))
	_ = root.RegisterFlagCompletionFunc("context", completeContexts)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if fn, ok := byName[f.Name]; ok {
				_ = c.RegisterFlagCompletionFunc(f.Name, fn)
			}
		})
		if c.Name() == "list" && c.Flags().Lookup("kind") != nil {
			_ = c.RegisterFlagCompletionFunc("kind", fixed(client.KindPersonal, client.KindAdmin))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func fixed(values ...string) completeFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// completionClient connects with a short deadline; nil when not logged in.
func (a *app) completionClient() (*client.Client, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	a.cmdCtx = ctx
	a.noWarn = true
	cl, err := a.client()
	if err != nil {
		cancel()
		return nil, func() {}
	}
	return cl, cancel
}

// completeTokenNames offers the names of live tokens: your own, or --user's.
func (a *app) completeTokenNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cl, cancel := a.completionClient()
	defer cancel()
	if cl == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	user, _ := cmd.Flags().GetString("user")
	given := map[string]bool{}
	for _, arg := range args {
		given[arg] = true
	}
	var out []string
	for t, err := range cl.Tokens(a.ctx(), client.ListTokensOptions{UserID: user, Limit: 500}) {
		if err != nil {
			break
		}
		if t.State != client.StateRevoked && !given[t.Name] && strings.HasPrefix(t.Name, toComplete) {
			out = append(out, t.Name+"\t"+t.State+", "+strings.Join(t.Scopes, " "))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeScopes(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cl, cancel := a.completionClient()
	defer cancel()
	if cl == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	scopes, err := cl.Scopes(a.ctx())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, s := range scopes {
		if strings.HasPrefix(s.Name, toComplete) {
			out = append(out, s.Name+"\t"+s.Description)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeUsers offers user names (of one kind, or all), as far as the
// credential may list users.
func (a *app) completeUsers(kind string) completeFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		cl, cancel := a.completionClient()
		defer cancel()
		if cl == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for u, err := range cl.Users(a.ctx(), client.ListUsersOptions{Kind: kind, Limit: 500}) {
			if err != nil {
				break
			}
			if strings.HasPrefix(u.Username, toComplete) {
				out = append(out, u.Username+"\t"+u.Role+" "+u.Kind)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func completeContexts(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, n := range cfg.names() {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n+"\t"+cfg.Contexts[n].URL)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
