// Package scope decides what a credential may do. It is pure: no I/O, no
// clock, no globals.
//
// # Catalog and grants
//
// A deployment declares its scopes in a Catalog (DefaultCatalog, or
// NewCatalog from the config file). Scopes form a hierarchy through Implies
// ("repo" implies "repo:read"), and the super-admin grant "*" is always
// present. A scope whose Def names a Resource kind may be narrowed to
// resource patterns: the grant "repo:read=acme/*" holds repo:read on the
// repositories matched by the path.Match glob "acme/*".
//
// # Sets
//
// Catalog.ParseSet turns the stored strings of a token into a Set, expanding
// the hierarchy once, so that Set.Allows needs no catalog and allocates
// nothing on the request path. The data flows:
//
//	token scopes ──ParseSet──┐
//	                         ├─ Intersect ─→ effective Set ─→ Allows(scope, resource) per request
//	owner's role ──ForRole───┘
//
// A token never grants more than its owner currently has, so the effective
// permission is the token's Set intersected with Catalog.ForRole of the
// owner's role. Covers and Missing check that a new or exchanged token only
// narrows what its creator holds, and name what it lacks. Intersect and
// Covers compare patterns conservatively: when in doubt, a pattern is not
// contained, so neither ever allows more than both sides do.
//
// Allows with an empty resource answers for routes that name no resource:
// holding the scope on any pattern is enough.
//
// # Route rules
//
// A Router, built by NewRouter from the config's RulesConfig (optionally
// with the Git preset, GitRules), maps a request's method, decoded path and
// query to a Decision: public, denied, or a scope to check on a resource
// filled in from path parameters. The forward-auth gateway then asks the
// credential's effective Set whether it Allows that scope on that resource.
//
// Every error is of kind ErrInvalid and says what was wrong and how to fix it.
package scope
