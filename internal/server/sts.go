package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/federation"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/sts"
)

// mountSTS mounts token exchange, JWKS and RFC 8414 metadata, extends
// introspection to the JWTs it issues, and starts the key-rotation schedule.
//
// The signing-key secret comes from the configuration; with SQLite it is
// otherwise generated into the data directory on first start. With
// PostgreSQL and no secret, token exchange stays off (a generated secret
// would differ per replica) and the endpoints say how to turn it on; the
// metadata is still served, listing what works without signing keys.
func (a *App) mountSTS(ctx context.Context) error {
	device := a.deviceFlow()
	keys, err := a.signingKeys()
	if errors.Is(err, sts.ErrNoSecret) {
		a.Logger.Warn("token exchange is disabled: set --signing-key-secret-file or LATCHKEY_SIGNING_KEY_SECRET, the same on every replica, to enable it")
		(&sts.Disabled{Reason: sts.ErrNoSecret.Error(), Device: device, Issuer: a.PublicURL, Catalog: a.Catalog}).Mount(a.Mux)
		a.Services.Jobs.Register("rotate-keys", func(context.Context) (map[string]any, error) {
			return nil, &service.Error{Kind: service.ErrConflict, Msg: "token exchange is disabled, so there are no signing keys to rotate: " + sts.ErrNoSecret.Error()}
		})
		return nil
	}
	if err != nil {
		return err
	}
	if err := keys.Ensure(ctx); err != nil {
		return err
	}
	svc := sts.New(sts.Deps{
		Keys: keys, Verifier: a.Verifier, Catalog: a.Catalog, Audit: a.Services.Audit,
		Parents: a.Store, Policy: a.Services.Policies, Issuer: a.PublicURL,
		Limiter: a.failures, Logger: a.Logger, Device: device, Outage: a.outages.record,
		Federation: &sts.Federation{
			Verifier: federation.NewVerifier(federation.Options{Logger: a.Logger}),
			Service:  a.Services.Federation,
		},
	}, sts.Options{Lifetime: a.Config.JWTLifetime})
	svc.Mount(a.Mux)
	a.Introspector.JWT = svc.IntrospectJWT

	a.Services.Jobs.Register("rotate-keys", func(ctx context.Context) (map[string]any, error) {
		sk, err := keys.Rotate(ctx)
		if err != nil {
			return nil, fmt.Errorf("rotate signing key: %w", err)
		}
		gone, err := keys.Prune(ctx)
		if err != nil {
			return nil, fmt.Errorf("prune retired signing keys: %w", err)
		}
		a.Logger.Info("rotated JWT signing key", "kid", sk.ID, "algorithm", sk.Algorithm, "on", "request")
		return map[string]any{"new_key_id": sk.ID, "algorithm": sk.Algorithm, "removed_key_ids": append([]string{}, gone...)}, nil
	})

	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		keys.RunSchedule(runCtx, a.Config.KeyRotationInterval, a.Logger)
	}()
	a.closers = append(a.closers, func(context.Context) { cancel(); <-done })
	return nil
}

// signingKeys resolves the signing-key secret and opens the keyring.
func (a *App) signingKeys() (*sts.Keyring, error) {
	dataDir := a.Config.DataDir
	if a.Config.DatabaseURL != "" {
		dataDir = "" // a file on one replica's disk cannot serve the others
	}
	secret, source, path, err := sts.ResolveSecret(a.Config.SigningKeySecret, dataDir)
	if err != nil {
		return nil, err
	}
	if source == sts.SecretGenerated {
		a.Logger.Info("generated the secret that encrypts JWT signing keys; back it up with the database", "path", path)
	}
	return sts.NewKeyring(a.Store, sts.KeyringOptions{
		Algorithm: a.Config.JWTAlgorithm, Secret: secret, JWTLifetime: a.Config.JWTLifetime,
	})
}
