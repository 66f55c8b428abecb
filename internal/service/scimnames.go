package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/latchkey/latchkey/internal/store"
)

// NFC is an identity provider's user name in Unicode normal form C, the
// form Latchkey keeps: "jos\u00e9@corp.com" and "jose\u0301@corp.com" are
// one name to a person and to the provider, so they must be one here too,
// or a filter in one form misses the user created in the other and the
// provider creates a second account for the same person.
//
// A character whose canonical form is an ASCII character (the Kelvin sign
// U+212A is "K", the Greek question mark U+037E is ";") is kept as sent:
// the provider holds it as a name of its own, which a person may choose to
// look like someone else's, and NFC would make it that name.
func NFC(name string) string { return normalize(norm.NFC, name) }

// normalize puts name in form f, keeping as sent every character that
// would become ASCII.
func normalize(f norm.Form, name string) string {
	var b strings.Builder
	for {
		i := strings.IndexFunc(name, becomesASCII)
		if i < 0 {
			if b.Len() == 0 {
				return f.String(name)
			}
			b.WriteString(f.String(name))
			return b.String()
		}
		_, size := utf8.DecodeRuneInString(name[i:])
		b.WriteString(f.String(name[:i]))
		b.WriteString(name[i : i+size])
		name = name[i+size:]
	}
}

// becomesASCII reports whether r is not ASCII but its canonical
// decomposition is one ASCII character.
func becomesASCII(r rune) bool {
	if r < utf8.RuneSelf {
		return false
	}
	d := norm.NFD.String(string(r))
	return len(d) == 1 && d[0] < utf8.RuneSelf
}

// userByIdPUserName is GetUserByIdPUserName of name in NFC, then (for an
// account stored before Latchkey normalised user names) in NFD and as
// sent.
func (s *Users) userByIdPUserName(ctx context.Context, name string) (*store.User, error) {
	forms := []string{NFC(name)}
	for _, f := range []string{normalize(norm.NFD, name), name} {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	var err error
	for _, f := range forms {
		var u *store.User
		u, err = s.store.GetUserByIdPUserName(ctx, f)
		if err == nil && !sameIdPUserName(u.IdPUserName, f) {
			err = fmt.Errorf("find user by idp user name: %w", store.ErrNotFound)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return u, err
		}
	}
	return nil, err
}

// sameIdPUserName reports whether two user names an identity provider
// sent are one name, ignoring case as SCIM does, but never equating a
// non-ASCII character with an ASCII letter: the store compares by
// store.FoldUserName, Unicode's simple folding, in which the Kelvin sign
// U+212A is "k" and the long s U+017F is "s", so "adminſ@corp.com" (a
// name some providers let a person choose) would be admins@corp.com and
// sign in to that account. A look-alike is another person.
func sameIdPUserName(a, b string) bool {
	return strictFold(a) == strictFold(b)
}

// strictFold is store.FoldUserName, except that a non-ASCII character
// whose folding reaches an ASCII letter stays as it is.
func strictFold(name string) string {
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf {
			return unicode.ToLower(r)
		}
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				return r
			}
			low = min(low, f)
		}
		return low
	}, name)
}

// maxIdPUserName is the longest IdP user name kept, in characters: more
// than any Entra ID (a UPN, at most 113) or Okta (a login, 100) sends.
const maxIdPUserName = 256

// checkIdPUserName refuses a user name from an identity provider that
// Latchkey cannot keep exactly as sent.
func checkIdPUserName(field, name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxIdPUserName {
		return invalid(field, "%s must be valid UTF-8 of at most %d characters", field, maxIdPUserName)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return invalid(field, "%s must not hold control characters; got %q", field, printable(name, 64))
		}
	}
	return nil
}

// errNameHeld is createNamedWith's answer when the user name is held by an
// account Latchkey cannot tell apart from the person being created.
var errNameHeld = errors.New("the user name is held by an account whose identity provider user name is not known")

// lookAlikeHeld is createNamedWith's answer when the identity provider
// user name is free but shares its key (store.FoldUserName) with a
// look-alike another live user holds: "admin\u017F@corp.com" and
// admins@corp.com. It is a store.ErrConflict that, unlike one for the
// same name, neither a filter nor another try resolves.
type lookAlikeHeld struct{ holder string }

func (e *lookAlikeHeld) Error() string {
	return "the identity provider user name is held by a look-alike: " + e.holder
}

func (e *lookAlikeHeld) Unwrap() error { return store.ErrConflict }

// maxNameTries bounds the suffixed user names createNamedWith tries.
const maxNameTries = 4

// scimUserByName finds the person the identity provider calls name: the
// one whose IdP user name equals it ignoring case, never through the lossy
// NormalizeUsername, which gives josé@corp.com and josè@corp.com the same
// user name. An account from before Latchkey kept IdP user names (none is
// stored) is found by user name only when nobody else can have been named
// so: name survived normalisation intact, or it is the account's email
// address. Anything else is store.ErrNotFound.
func (s *Users) scimUserByName(ctx context.Context, name string) (*store.User, error) {
	name = NFC(name)
	u, err := s.userByIdPUserName(ctx, name)
	if !errors.Is(err, store.ErrNotFound) {
		return u, err
	}
	u, err = s.store.GetUserByUsername(ctx, NormalizeUsername(name))
	if err != nil {
		return nil, err
	}
	legacy := u.IdPUserName == "" && u.LoginType == store.LoginTypeOIDC && u.Kind == store.KindPerson
	if legacy && (NormalizeUsername(name) == name || plainUPN(name) || (u.Email != "" && asciiEqualFold(u.Email, name))) {
		return u, nil
	}
	return nil, fmt.Errorf("find user by idp user name: %w", store.ErrNotFound)
}

// plainUPN reports whether name is a user name of the usual form
// local@domain in ASCII letters, digits, '.', '_' and '-', short enough
// not to be cut: the form of nearly every Entra ID UPN and Okta login.
// Normalisation changes only its '@' (into '-'), so two such names give
// the same Latchkey user name only when they differ by where an '@' and a
// '-' stand (a-b@c.com, a@b-c.com), which directories do not hand out in
// practice. An account provisioned before Latchkey kept IdP user names is
// found by such a name; without it, every such account would be lost to
// its provider's filter after an upgrade, and the provider's next POST
// answered 409. Names with other characters (josé@, a+b@) stay strict.
func plainUPN(name string) bool {
	local, domain, ok := strings.Cut(name, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(name) > 64 {
		return false
	}
	return NormalizeUsername(local) == local && NormalizeUsername(domain) == domain
}

// suffixedName is base with a suffix for the i-th try: first one derived
// from the IdP user name (so the same person gets the same name again when
// re-provisioned), then random ones.
func suffixedName(base, idpName string, i int) string {
	var suffix string
	if i == 1 {
		sum := sha256.Sum256([]byte(store.FoldUserName(idpName)))
		suffix = hex.EncodeToString(sum[:3])
	} else {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		suffix = hex.EncodeToString(b)
	}
	if keep := 64 - len(suffix) - 1; len(base) > keep {
		base = base[:keep]
	}
	return base + "-" + suffix
}
