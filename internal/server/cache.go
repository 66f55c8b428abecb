package server

import "github.com/latchkey/latchkey/internal/auth"

// verificationSource is what verification reads through: the store directly
// for now; the verification cache wraps it.
func (a *App) verificationSource() (auth.Source, error) {
	return a.Store, nil
}
