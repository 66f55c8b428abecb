package server

import (
	"context"

	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/sts"
)

// deviceFlow builds the RFC 8628 device flow once; mountSTS serves its
// grant at the token endpoint and the console its /device page.
func (a *App) deviceFlow() *sts.Device {
	if a.Device == nil {
		a.Device = &sts.Device{
			Store: a.Store, Sessions: a.Services.Sessions, Audit: a.Services.Audit,
			Issuer: a.PublicURL, Logger: a.Logger.With("component", "device"), Outage: a.outages.record,
		}
		a.Device.Mount(a.Mux)
	}
	return a.Device
}

// mountSSO builds the configured OIDC providers and serves SCIM 2.0.
func (a *App) mountSSO(ctx context.Context) error {
	a.SSO = identity.NewProviders(a.Config.File.SSO.Providers, identity.Options{})
	identity.NewSCIM(identity.SCIMDeps{
		Services: a.Services, Verifier: a.Verifier, Logger: a.Logger.With("component", "scim"), BaseURL: a.PublicURL,
		Outage: a.outages.record,
	}).Mount(a.Mux)
	return nil
}
