package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/service"
)

// LeakReport is one secret a scanner found, in the secret scanning partner
// format.
type LeakReport struct {
	Token  string `json:"token" maxLength:"200" doc:"The secret as found"`
	Type   string `json:"type,omitempty" maxLength:"100" doc:"The scanner's name for the secret type"`
	URL    string `json:"url,omitempty" maxLength:"2000" doc:"Where it was found"`
	Source string `json:"source,omitempty" maxLength:"100" doc:"Which scanner or source found it"`
}

// LeakVerdict says whether a reported secret was a Latchkey credential
// (now revoked).
type LeakVerdict struct {
	TokenRaw  string `json:"token_raw"`
	TokenType string `json:"token_type"`
	Label     string `json:"label" enum:"true_positive,false_positive"`
}

type leaksInput struct {
	Body []LeakReport `maxItems:"1000"`
}

type leaksOutput struct {
	Body []LeakVerdict
}

func (a *API) registerLeaks() {
	huma.Register(a, huma.Operation{
		OperationID: "report-leaks", Method: http.MethodPost, Path: "/api/v1/leaks", Tags: []string{"Tokens"},
		Summary: "Report leaked secrets; live Latchkey tokens among them are revoked at once",
		Description: "Accepts the JSON array secret scanners send ([{\"token\",\"type\",\"url\",\"source\"}]). " +
			"No credential is needed: holding a secret is proof enough to kill it, and the answer only says " +
			"whether each reported secret was a Latchkey credential. Owners see the report in the audit log.",
	}, a.reportLeaks)
}

func (a *API) reportLeaks(ctx context.Context, in *leaksInput) (*leaksOutput, error) {
	c := clientOf(ctx)
	if err := a.d.LoginLimiter.Err(c.IP); err != nil {
		return nil, a.problem(ctx, err)
	}
	reports := make([]service.LeakReport, 0, len(in.Body))
	for _, r := range in.Body {
		reports = append(reports, service.LeakReport{Token: r.Token, Type: r.Type, URL: r.URL, Source: r.Source})
	}
	verdicts, err := a.d.Services.Tokens.ReportLeaks(ctx, service.Actor{IP: c.IP, Agent: c.Agent}, reports)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	out := &leaksOutput{Body: make([]LeakVerdict, 0, len(verdicts))}
	falsePositives := 0
	for _, v := range verdicts {
		if v.Label == "false_positive" {
			falsePositives++
		}
		out.Body = append(out.Body, LeakVerdict{TokenRaw: v.TokenRaw, TokenType: v.TokenType, Label: v.Label})
	}
	// Reports full of non-secrets count as failures: they throttle a client
	// fishing for valid tokens the same way failed logins do.
	if falsePositives == len(verdicts) {
		a.d.LoginLimiter.Fail(c.IP)
	}
	return out, nil
}
