// Package client is the Go client of the Latchkey REST API: personal access
// tokens, users and service accounts, token policy, the scope catalog, the
// audit log, sessions, and the OAuth token-exchange and introspection
// endpoints.
//
// Create a Client with the server's URL and a credential (a personal access
// token, an admin access token or a session token), then call its methods.
// Every method takes a context and stops when it is cancelled.
//
//	c, err := client.New("https://latchkey.example.com", client.WithToken(os.Getenv("LATCHKEY_TOKEN")))
//	if err != nil { ... }
//	issued, err := c.CreateToken(ctx, client.CreateTokenRequest{
//		Name:      "ci-deploy",
//		Scopes:    []string{"repo:read"},
//		ExpiresIn: "720h",
//	})
//	fmt.Println(issued.Secret) // shown once; store it now
//
// Errors the server answers with (RFC 9457 problem+json) come back as
// *Error, which keeps the HTTP status, title and detail, and matches the
// sentinels ErrInvalid, ErrUnauthorized, ErrForbidden, ErrNotFound,
// ErrConflict, ErrRateLimited and ErrServer with errors.Is. The OAuth
// endpoints answer with *OAuthError, which matches the same sentinels.
// Transport failures are returned wrapped, as net/http reports them.
//
// Lists are paginated with an opaque cursor. ListTokens, ListUsers and
// ListAudit return one Page; Tokens, Users and AuditEvents return an
// iterator that fetches pages as it goes (ExportAudit streams the audit log
// in one request instead):
//
//	for t, err := range c.Tokens(ctx, client.ListTokensOptions{}) {
//		if err != nil { ... }
//		fmt.Println(t.Name, t.State)
//	}
//
// When a request is authenticated with a credential that expires, the server
// says when in the Latchkey-Token-Expiration header; TokenExpiration returns
// the latest value seen, so a program can warn its user in time.
package client
