package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/client"
)

// loginDevice signs the CLI in through the browser with the OAuth 2.0
// device authorization grant (RFC 8628): it prints where to go and the
// code to enter, and polls until someone signed in to the console approves
// it. It needs no local browser, so it works over SSH and with single
// sign-on. A server without the device flow gets the /cli-auth paste flow.
func (a *app) loginDevice(anon *client.Client, sc *storedContext) error {
	ctx := a.ctx()
	d, err := anon.DeviceAuthorize(ctx)
	// No device endpoint: Latchkey's 404, or the plain 404 of an older
	// server or of a proxy that does not pass /oauth2/ on.
	if errors.Is(err, client.ErrNotFound) || client.StatusOf(err) == http.StatusNotFound {
		return a.loginWeb(anon, sc)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "To sign in, open %s\nand enter the code %s (or open %s).\nWaiting for approval...\n",
		terminalText(d.VerificationURI), terminalText(d.UserCode), terminalText(d.VerificationURIComplete))
	ctx, cancel := context.WithTimeout(ctx, time.Duration(d.ExpiresIn)*time.Second+30*time.Second)
	defer cancel()
	tok, err := anon.PollDeviceToken(ctx, d)
	var oe *client.OAuthError
	switch {
	case err == nil:
	case errors.As(err, &oe) && oe.Code == "access_denied":
		return fail(exitAuth, errors.New("the sign-in was denied in the browser; nothing was stored"))
	case errors.As(err, &oe) && oe.Code == "expired_token", errors.Is(err, context.DeadlineExceeded):
		return fail(exitAuth, errors.New("the code expired before it was approved; run `latchkey login --web` again"))
	default:
		return err
	}
	return a.verifyCredential(sc, tok.AccessToken)
}
