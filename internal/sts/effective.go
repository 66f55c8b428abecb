package sts

import (
	"errors"
	"strings"
	"sync"
)

// effectiveMemo remembers the effective scope of a (JWT claims, parent
// scopes, owner role) triple: introspection answers the same JWT many
// times, and parsing and intersecting the largest allowed token's patterns
// on every request would cost more than the rest of the answer.
type effectiveMemo struct {
	mu sync.Mutex
	m  map[string]string
}

// maxEffectiveMemo bounds the memo; it is cleared when full.
const maxEffectiveMemo = 10_000

// effectiveScope is claimed ∩ held ∩ role, as a space-separated scope string.
func (s *Service) effectiveScope(claimed string, held []string, role string) (string, error) {
	key := role + "\x00" + strings.Join(held, " ") + "\x00" + claimed
	s.memo.mu.Lock()
	v, ok := s.memo.m[key]
	s.memo.mu.Unlock()
	if ok {
		return v, nil
	}
	c, err := s.d.Catalog.ParseSet(strings.Fields(claimed))
	if err != nil {
		return "", errors.New("the JWT's scopes are no longer in the catalog")
	}
	h, err := s.d.Catalog.ParseSet(held)
	if err != nil {
		return "", errors.New("the parent token's scopes are no longer in the catalog")
	}
	v = strings.Join(c.Intersect(h.Intersect(s.d.Catalog.ForRole(role))).Strings(), " ")
	s.memo.mu.Lock()
	if s.memo.m == nil || len(s.memo.m) >= maxEffectiveMemo {
		s.memo.m = make(map[string]string)
	}
	s.memo.m[key] = v
	s.memo.mu.Unlock()
	return v, nil
}
