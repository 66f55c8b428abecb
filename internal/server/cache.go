package server

import "github.com/latchkey/latchkey/internal/auth"

// verificationSource is what verification reads through: the verification
// cache over the store (connected as the services' invalidator, so every
// revocation, regeneration, scope change and owner change made on this node
// is seen by the very next request), or the store itself when --cache-size
// is 0.
func (a *App) verificationSource() (auth.Source, error) {
	if a.Config.CacheSize <= 0 {
		return a.Store, nil
	}
	c := auth.NewCache(a.Store, auth.CacheConfig{
		Size: a.Config.CacheSize, TTL: a.Config.CacheTTL, NegativeTTL: a.Config.NegativeTTL,
	})
	inv, err := a.replicate(c)
	if err != nil {
		return nil, err
	}
	a.Services.SetInvalidator(inv)
	a.cache = c
	return c, nil
}
