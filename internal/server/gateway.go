package server

import (
	"context"
	"fmt"
	"strconv"

	"github.com/latchkey/latchkey/internal/gateway"
)

// mountGateway mounts forward-auth at /auth/verify and makes the gateway's
// Front the top-level handler in front of the mux: it hands /auth/verify/...
// to forward-auth uncleaned and, when upstreams are configured (--upstream
// or the config file's upstreams), proxies to them.
func (a *App) mountGateway(ctx context.Context) error {
	rules, err := gateway.NewRules(a.Catalog, a.Config.File.Routes)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	authz := &gateway.Authorizer{
		Verifier: a.Verifier, Realm: a.Config.GatewayRealm,
		UsernameMustMatch: a.Config.BasicAuthUsernameMustMatch, Logger: a.Logger,
	}
	verify := &gateway.Verify{Authorizer: authz, Router: rules}
	a.Mux.Handle(gateway.VerifyPath, verify)
	a.Mux.Handle(gateway.VerifyPath+"/", verify)

	front, err := gateway.NewFront(a.withRequestTimeout(a.Mux), verify, a.upstreamSpecs(), gateway.FrontOptions{
		Authorizer: authz, Catalog: a.Catalog, Rules: rules,
		Timeout: a.Config.UpstreamTimeout, Logger: a.Logger, ConsoleHost: a.Config.ConsoleHost,
	})
	if err != nil {
		return fmt.Errorf("reverse-proxy mode: %w", err)
	}
	a.Handler = front
	a.closers = append(a.closers, func(context.Context) { front.Close() })
	for _, d := range front.Describe() {
		a.Logger.Info("reverse-proxy mode", "upstream", d)
	}
	return nil
}

// upstreamSpecs gathers the upstreams of the config file and --upstream,
// which is the catch-all.
func (a *App) upstreamSpecs() []gateway.UpstreamSpec {
	var specs []gateway.UpstreamSpec
	for i, u := range a.Config.File.Upstreams {
		specs = append(specs, gateway.UpstreamSpec{
			Source: "config file upstreams[" + strconv.Itoa(i) + "]",
			Host:   u.Host, PathPrefix: u.PathPrefix, URL: u.URL, StripPrefix: u.StripPrefix, Routes: u.Routes,
		})
	}
	if a.Config.Upstream != "" {
		specs = append(specs, gateway.UpstreamSpec{Source: "--upstream", URL: a.Config.Upstream})
	}
	return specs
}
