package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/client"
)

func newPolicyCmd(a *app) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:   "policy",
		Short: "Show or change the token policy",
		Long: `The token policy says how long tokens live by default and at most, whether
tokens may never expire, who may create tokens, and whether unused tokens
are revoked. Everyone may read it; admins change it.`,
		Example: `  latchkey policy show
  latchkey policy set --max-lifetime 90d --default-lifetime 30d
  latchkey policy set --allow-no-expiry=false --creation admins`,
	})
	cmd.AddCommand(newPolicyShowCmd(a), newPolicySetCmd(a))
	return cmd
}

func newPolicyShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show",
		Short:   "Show the token policy",
		Example: "  latchkey policy show\n  latchkey policy show -o yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			p, err := cl.GetPolicy(a.ctx())
			if err != nil {
				return err
			}
			return a.printPolicy(p)
		},
	}
}

func (a *app) printPolicy(p *client.Policy) error {
	if ok, err := a.structured(p); ok {
		return err
	}
	noExpiry := "not allowed"
	if p.AllowNoExpiry {
		noExpiry = "allowed"
	}
	return a.fields([][2]string{
		{"Default lifetime", orText(p.DefaultLifetime, noDefaultLifetime(p))},
		{"Maximum lifetime", orText(p.MaxLifetime, "none")},
		{"No expiration", noExpiry},
		{"Who may create tokens", p.Creation},
		{"Revoke tokens unused for", orText(p.RevokeUnusedFor, "never")},
		{"Updated", a.whenStamp(&p.UpdatedAt, "")},
	})
}

// noDefaultLifetime says what a token created without a lifetime gets
// when the policy names no default: no expiry where that is allowed and
// unbounded, else 180 days (the maximum when it is shorter).
func noDefaultLifetime(p *client.Policy) string {
	if p.AllowNoExpiry && p.MaxLifetime == "" {
		return "none (tokens created without one never expire)"
	}
	return "none (tokens created without one get 180d, or the maximum if shorter)"
}

// orText is s for people: a duration of whole days (the API answers Go
// duration strings, "720h") as a day count ("30d"), none when empty.
func orText(s, none string) string {
	if s == "" {
		return none
	}
	const day = 24 * time.Hour
	if d, err := time.ParseDuration(s); err == nil && d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return s
}

type policyFlags struct {
	def, max, creation, unused string
	noExpiry, dryRun           bool
}

func newPolicySetCmd(a *app) *cobra.Command {
	var f policyFlags
	cmd := &cobra.Command{
		Use:   "set [flags]",
		Short: "Change the token policy (admins)",
		Long: `Change some settings of the token policy; the others keep their value.
Durations are Go durations or days (720h, 90d); "none" clears a maximum and
"never" turns off revoking unused tokens. Lowering the maximum lifetime also
caps existing tokens, counted from their creation; so does turning off
--allow-no-expiry (never-expiring tokens are then capped by the maximum
lifetime, or else the default lifetime). Before saving, the command says
how many existing tokens the change shortens; --dry-run only says it.`,
		Example: `  latchkey policy set --max-lifetime 90d --default-lifetime 30d
  latchkey policy set --max-lifetime none
  latchkey policy set --allow-no-expiry=false
  latchkey policy set --creation admins --revoke-unused-for 90d
  latchkey policy set --max-lifetime 30d --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.setPolicy(cmd.Flags(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.def, "default-lifetime", "", "`DURATION` of tokens created without an expiration, e.g. 30d")
	fl.StringVar(&f.max, "max-lifetime", "", "longest lifetime allowed, a `DURATION` like 90d; \"none\" for no maximum")
	fl.BoolVar(&f.noExpiry, "allow-no-expiry", false, "allow tokens that never expire (--allow-no-expiry=false to forbid)")
	fl.StringVar(&f.creation, "creation", "", "`WHO` may create tokens: everyone or admins")
	fl.StringVar(&f.unused, "revoke-unused-for", "", "revoke tokens unused for this `DURATION`, e.g. 90d; \"never\" to turn off")
	fl.BoolVar(&f.dryRun, "dry-run", false, "say how many tokens the change affects, and save nothing")
	return cmd
}

// setPolicy changes the settings whose flags were given, keeping the rest.
func (a *app) setPolicy(fl *pflag.FlagSet, f policyFlags) error {
	if !(fl.Changed("default-lifetime") || fl.Changed("max-lifetime") || fl.Changed("allow-no-expiry") ||
		fl.Changed("creation") || fl.Changed("revoke-unused-for")) {
		return usageError("nothing to change: give --default-lifetime, --max-lifetime, --allow-no-expiry, --creation or --revoke-unused-for")
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	cur, err := cl.GetPolicy(a.ctx())
	if err != nil {
		return err
	}
	p := cur.Update()
	if fl.Changed("default-lifetime") {
		p.DefaultLifetime = clearWord(f.def, "none")
	}
	if fl.Changed("max-lifetime") {
		p.MaxLifetime = clearWord(f.max, "none")
	}
	if fl.Changed("allow-no-expiry") {
		p.AllowNoExpiry = f.noExpiry
	}
	if fl.Changed("creation") {
		p.Creation = f.creation
	}
	if fl.Changed("revoke-unused-for") {
		p.RevokeUnusedFor = clearWord(f.unused, "never")
	}
	prev, err := cl.PreviewPolicy(a.ctx(), p)
	if err != nil {
		return inFlagWords(err, policyFlagWords)
	}
	fmt.Fprintln(a.stderr, impactLine(prev, f.dryRun))
	if f.dryRun {
		if ok, err := a.structured(prev); ok {
			return err
		}
		return nil
	}
	np, err := cl.SetPolicy(a.ctx(), p)
	if err != nil {
		return inFlagWords(err, policyFlagWords)
	}
	if a.output == outTable {
		fmt.Fprintln(a.stdout, "Policy updated.")
	}
	return a.printPolicy(np)
}

func clearWord(v, word string) string {
	if strings.EqualFold(strings.TrimSpace(v), word) {
		return ""
	}
	return v
}

// impactLine says what a policy change does to existing tokens.
func impactLine(p *client.PolicyPreview, dryRun bool) string {
	verb := "This change shortens"
	if dryRun {
		verb = "Dry run, nothing saved: this change would shorten"
	}
	switch {
	case p.TokensAffected == 0:
		return verb + " no existing token's lifetime."
	case p.TokensExpiring > 0:
		return fmt.Sprintf("%s the lifetime of %d existing token(s); %d of them stop working at once.", verb, p.TokensAffected, p.TokensExpiring)
	}
	return fmt.Sprintf("%s the lifetime of %d existing token(s).", verb, p.TokensAffected)
}

// policyFlagWords names the API fields of the policy by the flags that set them.
var policyFlagWords = strings.NewReplacer(
	"default_lifetime", "--default-lifetime", "max_lifetime", "--max-lifetime",
	"allow_no_expiry", "--allow-no-expiry", "revoke_unused_for", "--revoke-unused-for",
	"body.creation", "--creation", "creation", "--creation", "body.", "",
	"leave it empty for none", "give none (never for --revoke-unused-for) to clear it",
)

// inFlagWords rewrites an API error so it names the command's flags rather
// than the JSON fields they were sent as; the exit code stays the same.
func inFlagWords(err error, words *strings.Replacer) error {
	var e *client.Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Detail = words.Replace(c.Detail)
	c.Errors = nil // their locations are JSON paths; the detail says it all
	return &c
}
