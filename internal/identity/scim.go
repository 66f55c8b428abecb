package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// SCIM schema URNs (RFC 7643, RFC 7644).
const (
	SchemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaList       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaPatch      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaError      = "urn:ietf:params:scim:api:messages:2.0:Error"
	SchemaSPConfig   = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaResource   = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema     = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	scimPrefix       = "/scim/v2"
	scimContentType  = "application/scim+json"
	maxSCIMBodyBytes = 1 << 20
)

// SCIMDeps are what the SCIM endpoints need.
type SCIMDeps struct {
	Services *service.Services
	Verifier auth.Verifier
	Logger   *slog.Logger
	BaseURL  func() string
	// Outage, when set, is told about every storage failure answered 503,
	// as the API's is (readiness reports a full disk or a database that
	// accepts no writes from it).
	Outage func(error)
}

// SCIM serves SCIM 2.0 provisioning at /scim/v2.
type SCIM struct{ d SCIMDeps }

// NewSCIM returns the SCIM handler.
func NewSCIM(d SCIMDeps) *SCIM {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &SCIM{d: d}
}

type scimHandler func(w http.ResponseWriter, r *http.Request, a service.Actor)

// Mount registers the SCIM routes.
func (s *SCIM) Mount(mux *http.ServeMux) {
	h := func(pattern string, fn scimHandler) { mux.Handle(pattern, s.authed(fn)) }
	h("GET "+scimPrefix+"/Users", s.listUsers)
	h("POST "+scimPrefix+"/Users", s.createUser)
	h("GET "+scimPrefix+"/Users/{id}", s.getUser)
	h("PUT "+scimPrefix+"/Users/{id}", s.replaceUser)
	h("PATCH "+scimPrefix+"/Users/{id}", s.patchUser)
	h("DELETE "+scimPrefix+"/Users/{id}", s.deleteUser)
	h("GET "+scimPrefix+"/Groups", s.listGroups)
	h("POST "+scimPrefix+"/Groups", s.createGroup)
	h("GET "+scimPrefix+"/Groups/{id}", s.getGroup)
	h("PUT "+scimPrefix+"/Groups/{id}", s.replaceGroup)
	h("PATCH "+scimPrefix+"/Groups/{id}", s.patchGroup)
	h("DELETE "+scimPrefix+"/Groups/{id}", s.deleteGroup)
	h("GET "+scimPrefix+"/ServiceProviderConfig", s.serviceProviderConfig)
	h("GET "+scimPrefix+"/ResourceTypes", s.resourceTypes)
	h("GET "+scimPrefix+"/Schemas", s.schemas)
	mux.Handle(scimPrefix+"/", s.authed(func(w http.ResponseWriter, r *http.Request, _ service.Actor) {
		writeSCIMError(w, http.StatusNotFound, "", "no SCIM endpoint at "+r.URL.Path+"; the resources are /Users and /Groups")
	}))
}

// authed checks the bearer token: an admin access token holding scim.
func (s *SCIM) authed(fn scimHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" || len(r.Header.Values("Authorization")) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey-scim"`)
			writeSCIMError(w, http.StatusUnauthorized, "", "send an admin access token holding the scim scope as one Authorization: Bearer <token> header")
			return
		}
		c := auth.ClientOf(r)
		p, err := s.d.Verifier.Verify(r.Context(), strings.TrimSpace(raw), c.Request())
		if err != nil {
			if _, _, down := store.Outage(err); down {
				// The token could not be checked: not a refusal of it (a
				// provider may stop provisioning after 401s).
				s.fail(w, r, err)
				return
			}
			var rl *auth.RateLimited
			if errors.As(err, &rl) {
				// The address used up its failed authentications: the
				// token was not judged, so no 401 (a provider may stop
				// provisioning after 401s) and nothing to log.
				w.Header().Set("Retry-After", rl.Seconds())
				writeSCIMError(w, http.StatusTooManyRequests, "", rl.Error())
				return
			}
			if !errors.Is(err, auth.ErrUnauthenticated) {
				s.d.Logger.ErrorContext(r.Context(), "verify SCIM token", "err", err)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey-scim", error="invalid_token"`)
			writeSCIMError(w, http.StatusUnauthorized, "", "the bearer token is not valid (unknown, expired, revoked, or its owner is suspended)")
			return
		}
		// Every answer to an expiring credential says when it expires.
		p.Identity().SetExpiration(w.Header())
		if p.Token == nil {
			writeSCIMError(w, http.StatusForbidden, "", "SCIM takes an admin access token holding the scim scope, not a login session")
			return
		}
		if p.Token.Kind == store.TokenPersonal {
			// The identity provider's credential belongs to no person: it
			// must outlive anyone's departure, and a person's own token
			// holding * must not provision people by accident.
			writeSCIMError(w, http.StatusForbidden, "", "SCIM takes an admin access token holding the scim scope, not a personal access token: create a service account and an admin access token for it (POST /api/v1/tokens with its user_id and the scim scope)")
			return
		}
		if p.Federated() {
			// Provisioning creates and reactivates people: a change that
			// outlives a CI job's short-lived token.
			writeSCIMError(w, http.StatusForbidden, "", "SCIM takes an admin access token holding the scim scope, not a token issued by workload identity federation: create an admin access token for the identity provider")
			return
		}
		if name, n := repeatedQuery(r.URL.Query()); n > 1 {
			writeSCIMError(w, http.StatusBadRequest, "invalidValue", "query parameter "+name+" was given "+strconv.Itoa(n)+" times; give it once")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxSCIMBodyBytes)
		fn(w, r, service.Actor{User: p.User, Scopes: p.Scopes, CredentialID: p.CredentialID(), Session: p.Session != nil,
			Federated: p.Federated(), IP: c.IP, Agent: c.Agent})
	})
}

// repeatedQuery returns the first (by name) query parameter given more
// than once, and how many times. Every SCIM query parameter (filter,
// startIndex, count, attributes, excludedAttributes, sortBy, sortOrder)
// takes one value: reading the first or the last of several would let a
// proxy or WAF that reads the other see another request than the one
// answered (HTTP parameter pollution), so such a request is refused, as
// the REST API refuses it.
func repeatedQuery(q url.Values) (string, int) {
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if n := len(q[k]); n > 1 {
			return k, n
		}
	}
	return "", 0
}

// --- wire shapes ---

type scimMeta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Location     string `json:"location,omitempty"`
}

type scimEmail struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

type scimRef struct {
	Value   string `json:"value"`
	Ref     string `json:"$ref,omitempty"`
	Display string `json:"display,omitempty"`
}

type scimUser struct {
	Schemas    []string    `json:"schemas"`
	ID         string      `json:"id,omitempty"`
	ExternalID string      `json:"externalId,omitempty"`
	UserName   string      `json:"userName"`
	Active     *bool       `json:"active,omitempty"`
	Emails     []scimEmail `json:"emails,omitempty"`
	Groups     []scimRef   `json:"groups,omitempty"`
	Meta       *scimMeta   `json:"meta,omitempty"`
}

type scimGroup struct {
	Schemas     []string  `json:"schemas"`
	ID          string    `json:"id,omitempty"`
	ExternalID  string    `json:"externalId,omitempty"`
	DisplayName string    `json:"displayName"`
	Members     []scimRef `json:"members"`
	Meta        *scimMeta `json:"meta,omitempty"`
}

type listResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []any    `json:"Resources"`
}

func (s *SCIM) loc(kind, id string) string { return s.d.BaseURL() + scimPrefix + "/" + kind + "/" + id }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *SCIM) userOut(v *service.SCIMUserView) scimUser {
	u := v.User
	active := !u.Suspended
	out := scimUser{Schemas: []string{SchemaUser}, ID: u.ID, ExternalID: v.ExternalID, UserName: v.UserName, Active: &active,
		Meta: &scimMeta{ResourceType: "User", Created: stamp(u.CreatedAt), LastModified: stamp(u.UpdatedAt), Location: s.loc("Users", u.ID)}}
	if u.Email != "" {
		out.Emails = []scimEmail{{Value: u.Email, Type: "work", Primary: true}}
	}
	for _, g := range v.Groups {
		out.Groups = append(out.Groups, scimRef{Value: g.ID, Ref: s.loc("Groups", g.ID), Display: g.DisplayName})
	}
	return out
}

func (s *SCIM) groupOut(g *store.Group) scimGroup {
	out := scimGroup{Schemas: []string{SchemaGroup}, ID: g.ID, ExternalID: g.ExternalID, DisplayName: g.DisplayName, Members: []scimRef{},
		Meta: &scimMeta{ResourceType: "Group", Created: stamp(g.CreatedAt), LastModified: stamp(g.UpdatedAt), Location: s.loc("Groups", g.ID)}}
	for _, m := range g.Members {
		out.Members = append(out.Members, scimRef{Value: m, Ref: s.loc("Users", m)})
	}
	return out
}

func writeSCIM(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", scimContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeSCIMError answers an RFC 7644 §3.12 error.
func writeSCIMError(w http.ResponseWriter, status int, scimType, detail string) {
	body := map[string]any{"schemas": []string{SchemaError}, "status": strconv.Itoa(status), "detail": detail}
	if scimType != "" {
		body["scimType"] = scimType
	}
	writeSCIM(w, status, body)
}

func (s *SCIM) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *service.Error
	if msg, retry, ok := store.Outage(err); ok {
		// RFC 7644 §3.12: 503, and when to try again.
		s.d.Logger.WarnContext(r.Context(), "SCIM request: storage unavailable", "path", r.URL.Path, "err", err)
		if s.d.Outage != nil {
			s.d.Outage(err)
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		writeSCIMError(w, http.StatusServiceUnavailable, "", msg)
		return
	}
	if !errors.As(err, &se) {
		s.d.Logger.ErrorContext(r.Context(), "SCIM request failed", "path", r.URL.Path, "err", err)
		writeSCIMError(w, http.StatusInternalServerError, "", "the request could not be completed; the server log has the details")
		return
	}
	switch {
	case errors.Is(err, service.ErrNotFound):
		writeSCIMError(w, http.StatusNotFound, "", se.Msg)
	case errors.Is(err, service.ErrConflict):
		writeSCIMError(w, http.StatusConflict, "uniqueness", se.Msg)
	case errors.Is(err, service.ErrForbidden):
		writeSCIMError(w, http.StatusForbidden, "", se.Msg)
	case errors.Is(err, service.ErrUnauthenticated):
		writeSCIMError(w, http.StatusUnauthorized, "", se.Msg)
	default:
		writeSCIMError(w, http.StatusBadRequest, "invalidValue", se.Msg)
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			writeSCIMError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the body is larger than %d bytes; send fewer members per request", maxSCIMBodyBytes))
			return false
		}
		writeSCIMError(w, http.StatusBadRequest, "invalidSyntax", "the body is not a valid SCIM JSON document: "+err.Error())
		return false
	}
	return true
}

// filterRE is the one filter form identity providers send: attr eq "value".
var filterRE = regexp.MustCompile(`^\s*(\w+)\s+(?i:eq)\s+"((?:[^"\\]|\\.)*)"\s*$`)

func parseFilter(f string) (attr, value string, err error) {
	if f == "" {
		return "", "", nil
	}
	m := filterRE.FindStringSubmatch(f)
	if m == nil {
		return "", "", fmt.Errorf("only filters of the form attribute eq \"value\" are supported")
	}
	v, uerr := strconv.Unquote(`"` + m[2] + `"`)
	if uerr != nil {
		return "", "", fmt.Errorf("the filter value is not a valid string")
	}
	return m[1], v, nil
}

// maxSCIMResults is the most resources one list answer holds (the
// ServiceProviderConfig's filter.maxResults); clients page with startIndex.
const maxSCIMResults = service.MaxSCIMResults

// pageParams reads RFC 7644 §3.4.2.4 pagination: startIndex is 1-based
// (less than 1 means 1), a negative count means 0, and no page holds more
// than maxSCIMResults. It never overflows, whatever the numbers sent.
func pageParams(q map[string][]string) (start, count int) {
	start, count = 1, maxSCIMResults
	if n, ok := intParam(q, "startIndex"); ok && n > 1 {
		start = n
	}
	if n, ok := intParam(q, "count"); ok {
		count = min(max(n, 0), maxSCIMResults)
	}
	return start, count
}

// page applies pageParams to total items.
func page(q map[string][]string, total int) (start, lo, hi int) {
	start, count := pageParams(q)
	lo = min(start-1, total)
	hi = lo + min(count, total-lo)
	return start, lo, hi
}

// intParam reads an integer query parameter; one too large for an int is
// read as the largest int of its sign.
func intParam(q map[string][]string, k string) (int, bool) {
	v := q[k]
	if len(v) == 0 || v[0] == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v[0], 10, 0)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return int(n), true
}

func (s *SCIM) list(w http.ResponseWriter, r *http.Request, items []any) {
	start, lo, hi := page(r.URL.Query(), len(items))
	out := items[lo:hi]
	if out == nil {
		out = []any{}
	}
	writeListResponse(w, start, len(items), out)
}

// writeListResponse answers one page of a list of total resources.
func writeListResponse(w http.ResponseWriter, start, total int, items []any) {
	if items == nil {
		items = []any{}
	}
	writeSCIM(w, http.StatusOK, listResponse{Schemas: []string{SchemaList}, TotalResults: total, StartIndex: start, ItemsPerPage: len(items), Resources: items})
}
