package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/federation"
)

func newFederationCmd(a *app) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:     "federation",
		Aliases: []string{"fed"},
		Short:   "Manage workload identity federation trust policies (admins)",
		Long: `A trust policy lets CI jobs and workloads (GitHub Actions, GitLab CI,
Kubernetes) exchange the OIDC token their platform mints for a short-lived
Latchkey token of a service account, so no secret is stored in CI. In the
job, run "latchkey login URL --federated". See docs/federation.md.`,
		Example: `  latchkey federation presets
  latchkey federation create web-deploy --preset github-actions \
      --condition repository=acme/web --condition ref=refs/heads/main \
      --service-account deployer --scope repo --max-lifetime 15m
  latchkey federation list
  latchkey federation update web-deploy --disable
  latchkey federation delete web-deploy --yes`,
	})
	cmd.AddCommand(newFederationPresetsCmd(a), newFederationCreateCmd(a), newFederationListCmd(a),
		newFederationShowCmd(a), newFederationUpdateCmd(a), newFederationDeleteCmd(a))
	return cmd
}

func newFederationPresetsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "presets",
		Short:   "List the presets for GitHub Actions, GitLab CI and Kubernetes",
		Example: "  latchkey federation presets\n  latchkey federation presets -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps := federation.Presets()
			if ok, err := a.structured(ps); ok {
				return err
			}
			t := a.table("PRESET", "ISSUER", "CONDITIONS", "DESCRIPTION")
			for _, p := range ps {
				t.row(p.Name, p.Issuer, conditionsText(p.Conditions), p.Description)
			}
			return t.flush()
		},
	}
}

// trustPolicyFlags are the fields create and update take.
type trustPolicyFlags struct {
	preset, description, issuer, audience, account, maxLifetime string
	conditions, scopes                                          []string
	disable, enable                                             bool
}

func (f *trustPolicyFlags) bind(cmd *cobra.Command, create bool) {
	fs := cmd.Flags()
	if create {
		fs.StringVar(&f.preset, "preset", "", "fill in issuer and audience from a `PRESET`: github-actions, gitlab-ci or kubernetes")
	}
	fs.StringVar(&f.issuer, "issuer", "", "OIDC issuer `URL`, exactly as the tokens' iss claim (https)")
	fs.StringVar(&f.audience, "audience", "", "the `AUDIENCE` the tokens must carry (default with a preset: latchkey)")
	fs.StringArrayVar(&f.conditions, "condition", nil, "claim condition `CLAIM=VALUE`, an exact value or glob (* does not cross /); repeatable")
	fs.StringVar(&f.account, "service-account", "", "the service `ACCOUNT` (name or id) the tokens act as")
	fs.StringArrayVar(&f.scopes, "scope", nil, "`SCOPE` granted to issued tokens; repeatable")
	fs.StringVar(&f.maxLifetime, "max-lifetime", "", "longest lifetime of an issued token, e.g. 15m (the default)")
	fs.StringVar(&f.description, "description", "", "what the policy is for")
	if !create {
		fs.BoolVar(&f.disable, "disable", false, "stop issuing tokens and revoke the live ones")
		fs.BoolVar(&f.enable, "enable", false, "issue tokens again")
		cmd.MarkFlagsMutuallyExclusive("disable", "enable")
	}
}

func (f *trustPolicyFlags) request(cmd *cobra.Command) (client.FederationPolicyRequest, error) {
	var req client.FederationPolicyRequest
	changed := cmd.Flags().Changed
	str := func(name, v string) *string {
		if changed(name) {
			return &v
		}
		return nil
	}
	req.Issuer, req.Audience = str("issuer", f.issuer), str("audience", f.audience)
	req.ServiceAccount, req.MaxLifetime = str("service-account", f.account), str("max-lifetime", f.maxLifetime)
	req.Description = str("description", f.description)
	if f.preset != "" {
		p, ok := federation.LookupPreset(f.preset)
		if !ok {
			return req, usageError("unknown preset %q; see `latchkey federation presets`", f.preset)
		}
		if req.Issuer == nil {
			if p.Issuer == "" {
				return req, usageError("the %s preset needs --issuer: your cluster's service-account issuer URL", p.Name)
			}
			req.Issuer = &p.Issuer
		}
		if req.Audience == nil {
			req.Audience = &p.Audience
		}
	}
	if len(f.conditions) > 0 {
		req.Conditions = map[string]string{}
		for _, c := range f.conditions {
			k, v, ok := strings.Cut(c, "=")
			if !ok || k == "" {
				return req, usageError("--condition %q: write CLAIM=VALUE, e.g. repository=acme/web", c)
			}
			req.Conditions[k] = v
		}
	}
	if len(f.scopes) > 0 {
		req.Scopes = f.scopes
	}
	if f.disable || f.enable {
		d := f.disable
		req.Disabled = &d
	}
	return req, nil
}

func newFederationCreateCmd(a *app) *cobra.Command {
	var f trustPolicyFlags
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a trust policy",
		Example: `  latchkey federation create web-deploy --preset github-actions --condition repository=acme/web \
      --condition ref=refs/heads/main --service-account deployer --scope repo
  latchkey federation create gl-deploy --preset gitlab-ci --condition project_path=acme/web \
      --condition ref_protected=true --service-account deployer --scope repo:read`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := f.request(cmd)
			if err != nil {
				return err
			}
			req.Name = &args[0]
			cl, err := a.client()
			if err != nil {
				return err
			}
			p, err := cl.CreateFederationPolicy(a.ctx(), req)
			if err != nil {
				return err
			}
			return a.showPolicy(p, "Created")
		},
	}
	f.bind(cmd, true)
	return cmd
}

func newFederationListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List trust policies",
		Example: "  latchkey federation list\n  latchkey federation list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			ps, err := client.Collect(cl.FederationPolicies(a.ctx()))
			if err != nil {
				return err
			}
			if ok, err := a.structured(ps); ok {
				return err
			}
			t := a.table("NAME", "ISSUER", "AUDIENCE", "CONDITIONS", "SCOPES", "LIFETIME", "STATE", "ID")
			for _, p := range ps {
				state := "enabled"
				if p.Disabled {
					state = "disabled"
				}
				t.row(p.Name, p.Issuer, p.Audience, conditionsText(p.Conditions), strings.Join(p.Scopes, ","), p.MaxLifetime, state, p.ID)
			}
			return t.flush()
		},
	}
}

func newFederationShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME|ID",
		Short:   "Show a trust policy",
		Example: "  latchkey federation show web-deploy\n  latchkey federation show web-deploy -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, p, err := a.policyAt(args[0])
			if err != nil {
				return err
			}
			return a.showPolicy(p, "")
		},
	}
}

func newFederationUpdateCmd(a *app) *cobra.Command {
	var f trustPolicyFlags
	cmd := &cobra.Command{
		Use:     "update NAME|ID",
		Short:   "Change a trust policy; --disable revokes every live token it issued",
		Example: "  latchkey federation update web-deploy --condition environment=production --condition repository=acme/web\n  latchkey federation update web-deploy --disable",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := f.request(cmd)
			if err != nil {
				return err
			}
			cl, cur, err := a.policyAt(args[0])
			if err != nil {
				return err
			}
			p, err := cl.UpdateFederationPolicy(a.ctx(), cur.ID, req)
			if err != nil {
				return err
			}
			return a.showPolicy(p, "Updated")
		},
	}
	f.bind(cmd, false)
	return cmd
}

func newFederationDeleteCmd(a *app) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:     "delete NAME|ID",
		Short:   "Delete a trust policy and revoke every live token it issued",
		Example: "  latchkey federation delete web-deploy --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := a.policyAt(args[0])
			if err != nil {
				return err
			}
			if err := a.confirm(fmt.Sprintf("Delete federation policy %s and revoke every token it issued?", p.Name), yes); err != nil {
				return err
			}
			if err := cl.DeleteFederationPolicy(a.ctx(), p.ID); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Deleted federation policy %s; its tokens are revoked.\n", terminalText(p.Name))
			return err
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// policyAt connects to the server of the current context and finds the
// policy named or numbered ref: the preamble of show, update and delete.
func (a *app) policyAt(ref string) (*client.Client, *client.FederationPolicy, error) {
	cl, err := a.client()
	if err != nil {
		return nil, nil, err
	}
	p, err := a.findPolicy(cl, ref)
	if err != nil {
		return nil, nil, err
	}
	return cl, p, nil
}

// findPolicy resolves a policy name or id.
func (a *app) findPolicy(cl *client.Client, ref string) (*client.FederationPolicy, error) {
	if uuid.Validate(ref) == nil {
		return cl.GetFederationPolicy(a.ctx(), ref)
	}
	for p, err := range cl.FederationPolicies(a.ctx()) {
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(p.Name, ref) {
			return &p, nil
		}
	}
	return nil, fail(exitNotFound, errors.New("no federation policy named "+ref+"; see `latchkey federation list`"))
}

func (a *app) showPolicy(p *client.FederationPolicy, verb string) error {
	if ok, err := a.structured(p); ok {
		return err
	}
	if verb != "" {
		fmt.Fprintf(a.stdout, "%s federation policy %s.\n", verb, terminalText(p.Name))
	}
	state := "enabled"
	if p.Disabled {
		state = "disabled"
	}
	return a.fields([][2]string{
		{"Name", p.Name}, {"ID", p.ID}, {"Issuer", p.Issuer}, {"Audience", p.Audience},
		{"Conditions", conditionsText(p.Conditions)}, {"Service account", p.ServiceAccountID},
		{"Scopes", strings.Join(p.Scopes, " ")}, {"Max lifetime", p.MaxLifetime}, {"State", state},
		{"Description", p.Description},
	})
}

func conditionsText(c map[string]string) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + c[k]
	}
	return strings.Join(parts, " ")
}
