package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/internal/web"
)

// mountWeb mounts the web console on the server's mux. It owns only
// explicit console paths (/login, /tokens..., /admin/..., /cli-auth,
// /static/...), never a catch-all, so the API and the other surfaces keep
// their routes and 404s.
func (a *App) mountWeb(ctx context.Context) error {
	h, err := web.New(web.Deps{
		Services: a.Services,
		Verifier: a.Verifier,
		Policy:   a.Services.Policies,
		Logger:   a.Logger.With("component", "web"),
		// Only a configured public URL; otherwise the console uses the host
		// the browser reached it at (the listen port is not known yet here).
		PublicURL:      a.Config.PublicURL,
		TLS:            a.Config.TLSCert != "" || strings.HasPrefix(a.Config.PublicURL, "https://"),
		LoginLimiter:   a.failures,
		AccountLimiter: a.accounts,
		SSO:            a.SSO, SSOOnly: a.Config.File.SSO.Only, Device: a.Device,
		Outage: a.outages.record,
	})
	if err != nil {
		return fmt.Errorf("web console: %w", err)
	}
	h.Mount(a.Mux)
	return nil
}
