package server

import "context"

// mountSTS mounts token exchange, JWKS and RFC 8414 metadata. (Wired by the token-exchange work.)
func (a *App) mountSTS(ctx context.Context) error { return nil }
