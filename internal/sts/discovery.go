package sts

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/latchkey/latchkey/internal/scope"
)

// serveJWKS publishes the public keys: the one signing now and the retired
// ones whose JWTs may still be unexpired. Verifiers cache it briefly and
// fetch it again when they meet an unknown kid.
func (s *Service) serveJWKS(w http.ResponseWriter, r *http.Request) {
	set, err := s.d.Keys.JWKS(r.Context())
	if err != nil {
		s.d.Logger.ErrorContext(r.Context(), "publish JWKS", "err", err)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"title": "Service Unavailable", "status": http.StatusServiceUnavailable,
			"detail": "the signing keys could not be read; try again shortly"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_ = json.NewEncoder(w).Encode(set)
}

// Metadata is the RFC 8414 authorization server metadata. It lists only
// what works on this server: without signing keys (token exchange off) it
// has no jwks_uri, no token-exchange grant and no token types.
type Metadata struct {
	Issuer                      string `json:"issuer"`
	TokenEndpoint               string `json:"token_endpoint"`
	JWKSURI                     string `json:"jwks_uri,omitempty"`
	IntrospectionEndpoint       string `json:"introspection_endpoint"`
	RevocationEndpoint          string `json:"revocation_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint,omitempty"`
	// GrantTypesSupported is never omitted: RFC 8414 reads a missing one
	// as ["authorization_code", "implicit"], which Latchkey has not.
	GrantTypesSupported []string `json:"grant_types_supported"`
	// SubjectTokenTypesSupported and IssuedTokenTypesSupported are the
	// RFC 8693 token type identifiers the token-exchange grant accepts as
	// subject_token_type and may answer as issued_token_type. No registry
	// names these metadata yet; these are the names token-exchange servers
	// and clients use.
	SubjectTokenTypesSupported []string `json:"subject_token_types_supported,omitempty"`
	IssuedTokenTypesSupported  []string `json:"issued_token_types_supported,omitempty"`
	// ResponseTypesSupported is required by RFC 8414, and empty: there is
	// no authorization endpoint.
	ResponseTypesSupported           []string            `json:"response_types_supported"`
	TokenEndpointAuthMethods         []string            `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string            `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string            `json:"revocation_endpoint_auth_methods_supported"`
	ScopesSupported                  []string            `json:"scopes_supported"`
	SigningAlgValuesSupported        []string            `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	AccessTokenSigningAlgValues      []string            `json:"access_token_signing_alg_values_supported,omitempty"`
	ScopeImplies                     map[string][]string `json:"latchkey_scope_implies"`
	ServiceDocumentation             string              `json:"service_documentation,omitempty"`
}

// offer is what a server's OAuth endpoints can do, which its metadata lists.
type offer struct {
	issuer     string
	catalog    *scope.Catalog
	exchange   bool // signing keys: token exchange, and JWTs to verify with the JWKS
	federation bool // workload OIDC tokens at the token endpoint (needs exchange)
	device     bool // the device authorization grant
}

// metadata builds the document. Besides the RFC 8414 fields it publishes
// the scope hierarchy as latchkey_scope_implies, which verifiers need to
// decide that, for example, a "repo" grant allows "repo:read".
func metadata(o offer) Metadata {
	iss := o.issuer
	var names []string
	implies := map[string][]string{}
	for _, d := range o.catalog.Defs() {
		names = append(names, d.Name)
		if len(d.Implies) > 0 {
			implies[d.Name] = slices.Clone(d.Implies)
		}
	}
	m := Metadata{
		Issuer: iss, TokenEndpoint: iss + TokenPath, IntrospectionEndpoint: iss + IntrospectPath,
		RevocationEndpoint:     iss + RevokePath,
		GrantTypesSupported:    []string{},
		ResponseTypesSupported: []string{},
		// The device grant's client is public: client_id in the body.
		TokenEndpointAuthMethods: []string{"none"},
		// The introspection caller is a token with the introspect scope,
		// as the client secret (any client_id), or as a Bearer token.
		IntrospectionEndpointAuthMethods: []string{"client_secret_basic", "client_secret_post"},
		// The token to revoke is the proof ("none"); a client may also
		// authenticate, with any working token (Revocation).
		RevocationEndpointAuthMethods: []string{"none", "client_secret_basic", "client_secret_post"},
		ScopesSupported:               names,
		ScopeImplies:                  implies,
	}
	if o.exchange {
		m.JWKSURI = iss + JWKSPath
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantTokenExchange)
		// A Latchkey access token is exchanged for a JWT (or, asked with
		// requested_token_type, named an access token).
		m.SubjectTokenTypesSupported = []string{TypeAccessToken}
		m.IssuedTokenTypesSupported = []string{TypeJWT, TypeAccessToken}
		// The subject token is the exchange's credential ("none"); an
		// optional client credential is a token of the same user.
		m.TokenEndpointAuthMethods = []string{"none", "client_secret_basic", "client_secret_post"}
		m.AccessTokenSigningAlgValues = []string{ES256, EdDSA}
		if o.federation {
			// A workload's OIDC ID token, or any JWT, from an issuer a
			// trust policy names, is exchanged for an opaque lk_fed_
			// access token.
			m.SubjectTokenTypesSupported = append(m.SubjectTokenTypesSupported, TypeIDToken, TypeJWT)
		}
	}
	if o.device {
		m.DeviceAuthorizationEndpoint = iss + DeviceAuthorizationPath
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantDeviceCode)
	}
	return m
}

// serveMetadata publishes where the endpoints are and what they accept.
func (s *Service) serveMetadata(w http.ResponseWriter, r *http.Request) {
	writeMetadata(w, metadata(offer{issuer: s.d.Issuer(), catalog: s.d.Catalog, exchange: true,
		federation: s.d.Federation != nil, device: s.d.Device != nil}))
}

func writeMetadata(w http.ResponseWriter, m Metadata) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(m)
}
