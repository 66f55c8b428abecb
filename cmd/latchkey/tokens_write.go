package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/client"
)

// expiryFlags are the ways to ask for an expiration; at most one is given.
type expiryFlags struct {
	lifetime, expires string
	noExpiry          bool
}

func (e *expiryFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&e.lifetime, "lifetime", "", "`DURATION` of the token, e.g. 720h, 30d or 2w (presets: 7d, 30d, 60d, 90d, 180d)")
	cmd.Flags().StringVar(&e.expires, "expires", "", "expiration `DATE` or time, e.g. 2027-01-01 (local midnight) or 2027-01-01T15:04:05Z")
	cmd.Flags().BoolVar(&e.noExpiry, "no-expiry", false, "never expire (if the policy allows it)")
	cmd.MarkFlagsMutuallyExclusive("lifetime", "expires", "no-expiry")
}

func (e *expiryFlags) at() (*time.Time, error) {
	if e.expires == "" {
		return nil, nil
	}
	t, err := parseTime("expires", e.expires)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

type createFlags struct {
	expiryFlags
	name, description string
	scopes, ipAllow   []string
	ipAllowOld        []string // --ip-allow, the earlier name of --allow-ip
	user, service     string
	quiet             bool
}

func newTokensCreateCmd(a *app) *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:   "create --name NAME [flags]",
		Short: "Create a token and print its secret, once",
		Long: `Create an access token. Its secret is printed once and never again: store
it right away. With -q only the secret is printed, and with -o json the
token and its secret as JSON, so scripts can capture it.

Without --lifetime, --expires or --no-expiry the policy's default lifetime
applies. Admins create tokens for another user with --user, and admin access
tokens for a service account with --service-account.`,
		Example: `  latchkey tokens create --name ci-deploy --scope repo:read --lifetime 720h
  latchkey tokens create --name backup --scope 'repo:read=acme/*' --expires 2027-01-01

  # Usable only from the office network and one build machine
  latchkey tokens create --name ci --scope repo --allow-ip 10.20.0.0/16,192.0.2.7

  # Capture the secret in a script
  TOKEN=$(latchkey tokens create --name nightly --lifetime 7d -q)

  # An admin access token for shared automation
  latchkey tokens create --name release-bot --service-account releaser --scope repo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.createToken(f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "token `NAME`, unique among the owner's tokens (required)")
	fl.StringVar(&f.description, "description", "", "`TEXT` saying what the token is for")
	fl.StringArrayVar(&f.scopes, "scope", nil, "`SCOPE` to grant, repeatable; narrow it to resources with scope=pattern, e.g. repo:read=acme/*")
	fl.StringSliceVar(&f.ipAllow, "allow-ip", nil, "IP address or `CIDR` range the token may be used from, repeatable or comma-separated (default: any address)")
	fl.StringSliceVar(&f.ipAllowOld, "ip-allow", nil, "same as --allow-ip")
	_ = fl.MarkHidden("ip-allow")
	fl.StringVar(&f.user, "user", "", "create on behalf of this `USER` (owners and admins)")
	fl.StringVar(&f.service, "service-account", "", "create an admin access token for this service `ACCOUNT` (admins)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only the secret")
	f.expiryFlags.bind(cmd)
	_ = cmd.MarkFlagRequired("name")
	cmd.MarkFlagsMutuallyExclusive("user", "service-account")
	return cmd
}

func (a *app) createToken(f createFlags) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	at, err := f.at()
	if err != nil {
		return err
	}
	req := client.CreateTokenRequest{Name: f.name, Description: f.description, Scopes: f.scopes, IPAllowlist: append(f.ipAllow, f.ipAllowOld...),
		UserID: f.user, ExpiresIn: f.lifetime, ExpiresAt: at, NoExpiry: f.noExpiry}
	if f.service != "" {
		u, err := a.findUser(cl, f.service)
		if err != nil {
			return err
		}
		if u.Kind != client.KindService {
			return usageError("%s is a person, not a service account; use --user %s to create a token on their behalf", u.Username, u.Username)
		}
		req.UserID = u.ID
	}
	issued, err := cl.CreateToken(a.ctx(), req)
	if err != nil {
		return apiFieldsAsFlags(err)
	}
	return a.printIssued(issued, f.quiet, "Created")
}

// printIssued shows a new secret: alone with -q, with the token as JSON or
// YAML with -o, and with a reminder for people.
func (a *app) printIssued(it *client.IssuedToken, quiet bool, verb string) error {
	if quiet {
		_, err := fmt.Fprintln(a.stdout, it.Secret)
		return err
	}
	if ok, err := a.structured(it); ok {
		return err
	}
	t := it.Token
	fmt.Fprintf(a.stdout, "%s %s %q (id %s).\n", verb, kindName(t.Kind), t.Name, t.ID)
	if err := a.fields([][2]string{
		{"  Scopes", strings.Join(t.Scopes, " ")},
		{"  Expires", a.whenStamp(t.ExpiresAt, "never")},
	}); err != nil {
		return err
	}
	if t.GraceExpiresAt != nil {
		fmt.Fprintf(a.stdout, "  The previous secret keeps working until %s.\n", stamp(*t.GraceExpiresAt))
	}
	_, err := fmt.Fprintf(a.stdout, "\n%s\n\nCopy the token now: it is shown only this once.\n", it.Secret)
	return err
}

type updateFlags struct {
	user, description  string
	add, remove, scope []string
	allowIP            []string
	clearAllowIP       bool
}

func newTokensUpdateCmd(a *app) *cobra.Command {
	var f updateFlags
	cmd := &cobra.Command{
		Use:   "update ID|NAME [flags]",
		Short: "Change a token's description, scopes or allowed IP addresses; its secret stays the same",
		Example: `  latchkey tokens update ci-deploy --description "deploys the web app"
  latchkey tokens update ci-deploy --add-scope job --remove-scope repo:read
  latchkey tokens update ci-deploy --scope repo --scope job
  latchkey tokens update ci-deploy --allow-ip 10.20.0.0/16 --allow-ip 192.0.2.7
  latchkey tokens update ci-deploy --clear-allow-ip`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTokenNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.updateToken(cmd.Flags(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.description, "description", "", "new description `TEXT`")
	fl.StringArrayVar(&f.add, "add-scope", nil, "`SCOPE` to add, repeatable")
	fl.StringArrayVar(&f.remove, "remove-scope", nil, "`SCOPE` to remove, repeatable")
	fl.StringArrayVar(&f.scope, "scope", nil, "replace all scopes with this `SCOPE`, repeatable")
	fl.StringSliceVar(&f.allowIP, "allow-ip", nil, "replace the allowed IP addresses with this address or `CIDR` range, repeatable or comma-separated")
	fl.BoolVar(&f.clearAllowIP, "clear-allow-ip", false, "remove the IP allowlist: the token works from any address")
	fl.StringVar(&f.user, "user", "", "look the name up among this `USER`'s tokens (admins)")
	cmd.MarkFlagsMutuallyExclusive("allow-ip", "clear-allow-ip")
	cmd.MarkFlagsMutuallyExclusive("scope", "add-scope")
	cmd.MarkFlagsMutuallyExclusive("scope", "remove-scope")
	return cmd
}

func (a *app) updateToken(fl *pflag.FlagSet, ref string, f updateFlags) error {
	if !fl.Changed("description") && !fl.Changed("add-scope") && !fl.Changed("remove-scope") && !fl.Changed("scope") &&
		!fl.Changed("allow-ip") && !fl.Changed("clear-allow-ip") {
		return usageError("nothing to change: give --description, --add-scope, --remove-scope, --scope, --allow-ip or --clear-allow-ip")
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	t, err := a.findToken(cl, ref, f.user)
	if err != nil {
		return err
	}
	var req client.UpdateTokenRequest
	if fl.Changed("description") {
		req.Description = &f.description
	}
	if fl.Changed("scope") {
		req.Scopes = &f.scope
	}
	if len(f.add) > 0 || len(f.remove) > 0 {
		scopes, err := editScopes(t, f.add, f.remove)
		if err != nil {
			return err
		}
		req.Scopes = &scopes
	}
	if fl.Changed("allow-ip") {
		req.IPAllowlist = &f.allowIP
	}
	if f.clearAllowIP {
		req.IPAllowlist = &[]string{}
	}
	up, err := cl.UpdateToken(a.ctx(), t.ID, req)
	if err != nil {
		return apiFieldsAsFlags(err)
	}
	if ok, err := a.structured(up); ok {
		return err
	}
	allowed := "any address"
	if len(up.IPAllowlist) > 0 {
		allowed = strings.Join(up.IPAllowlist, ", ")
	}
	_, err = fmt.Fprintf(a.stdout, "Updated token %q: scopes %s; description %q; allowed from %s.\n", up.Name, terminalText(strings.Join(up.Scopes, " ")), up.Description, terminalText(allowed))
	return err
}

// editScopes adds and removes scopes from a token's list, keeping its order.
func editScopes(t *client.Token, add, remove []string) ([]string, error) {
	out := []string{}
	drop := map[string]bool{}
	for _, r := range remove {
		drop[r] = true
	}
	for _, s := range t.Scopes {
		if drop[s] {
			delete(drop, s)
			continue
		}
		out = append(out, s)
	}
	for r := range drop {
		if len(t.Scopes) == 0 {
			return nil, usageError("token %q does not have scope %q to remove; it has no scopes", t.Name, r)
		}
		return nil, usageError("token %q does not have scope %q to remove; it has: %s", t.Name, r, strings.Join(t.Scopes, " "))
	}
	for _, s := range add {
		dup := false
		for _, have := range out {
			dup = dup || have == s
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out, nil
}

// apiFieldsAsFlags rewrites the API's field names in an error message as
// the flags that set them, keeping the exit code.
func apiFieldsAsFlags(err error) error {
	if err == nil || client.StatusOf(err) == 0 {
		return err
	}
	msg := strings.NewReplacer(
		"expires_in", "--lifetime", "expires_at", "--expires", "no_expiry", "--no-expiry",
		"grace_period", "--grace", "ip_allowlist", "--allow-ip", "user_id", "--user",
	).Replace(err.Error())
	return fail(exitCode(err), errors.New(msg))
}
