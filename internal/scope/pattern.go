package scope

import (
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Pattern algebra for Intersect and Covers. Both must never grant more than
// both sides allow, so they rest on within, a containment test that is sound
// (true only if every resource a matches, b matches too) but not complete:
// it may miss a containment that only a union of patterns, or a clever
// reading of character classes, would show. Missing one only makes a result
// narrower, never wider.
//
// Reading a pattern as a literal name and matching it (path.Match(b, a)) is
// not sound: "acme/?" matches the name "acme/*", yet the pattern "acme/*"
// matches "acme/web", which "acme/?" does not.

type tokenKind uint8

const (
	tokLiteral tokenKind = iota // one rune, unescaped
	tokOne                      // ?
	tokStar                     // *
	tokClass                    // [...], text includes the brackets
)

type patternToken struct {
	kind tokenKind
	text string
}

// tokenize splits a valid pattern into single-rune operators and stars.
func tokenize(p string) []patternToken {
	var out []patternToken
	for i := 0; i < len(p); {
		switch p[i] {
		case '*':
			out = append(out, patternToken{kind: tokStar})
			i++
		case '?':
			out = append(out, patternToken{kind: tokOne})
			i++
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '^' {
				j++
			}
			first := j
			for j < len(p) && (p[j] != ']' || j == first) {
				if p[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, patternToken{kind: tokClass, text: p[i : j+1]})
			i = j + 1
		default:
			if p[i] == '\\' {
				i++
			}
			_, n := utf8.DecodeRuneInString(p[i:])
			out = append(out, patternToken{kind: tokLiteral, text: p[i : i+n]})
			i += n
		}
	}
	return out
}

// classMatches reports whether the class token matches the one-rune name r.
func classMatches(class, r string) bool {
	ok, _ := path.Match(class, r)
	return ok
}

// mayMatchSlash reports whether a single-rune token of a can produce "/".
func mayMatchSlash(t patternToken) bool {
	switch t.kind {
	case tokLiteral:
		return t.text == "/"
	case tokClass:
		return classMatches(t.text, "/")
	}
	return false // "?" and "*" never match "/"
}

// within reports whether every name pattern a matches is matched by pattern
// b. Each token of a is mapped onto b: a star of b absorbs any run of a's
// tokens that cannot produce "/", the other tokens of b take one token of a
// that they match entirely.
func within(a, b string) bool {
	if a == b {
		return true
	}
	ta, tb := tokenize(a), tokenize(b)
	w := len(ta) + 1
	memo := make([]int8, (len(tb)+1)*w) // 0 unknown, 1 yes, -1 no
	var sub func(bi, ai int) bool
	sub = func(bi, ai int) bool {
		k := bi*w + ai
		if memo[k] != 0 {
			return memo[k] > 0
		}
		ok := withinStep(ta, tb, bi, ai, sub)
		memo[k] = -1
		if ok {
			memo[k] = 1
		}
		return ok
	}
	return sub(0, 0)
}

func withinStep(ta, tb []patternToken, bi, ai int, sub func(bi, ai int) bool) bool {
	if bi == len(tb) {
		return ai == len(ta)
	}
	x := tb[bi]
	if x.kind == tokStar {
		return sub(bi+1, ai) || (ai < len(ta) && !mayMatchSlash(ta[ai]) && sub(bi, ai+1))
	}
	if ai == len(ta) {
		return false
	}
	y := ta[ai]
	var ok bool
	switch x.kind {
	case tokLiteral:
		ok = y.kind == tokLiteral && y.text == x.text
	case tokOne:
		ok = y.kind != tokStar && !mayMatchSlash(y)
	case tokClass:
		ok = (y.kind == tokLiteral && classMatches(x.text, y.text)) || (y.kind == tokClass && y.text == x.text)
	}
	return ok && sub(bi+1, ai+1)
}

// covers reports whether h allows every resource the patterns name; no
// patterns means any resource. The patterns of h are indexed once, so the
// check is linear in the input for the usual cases (see patternIndex).
func (h holding) covers(pats []string) bool {
	if h.any {
		return true
	}
	if len(pats) == 0 {
		return false
	}
	idx := newPatternIndex(h.patterns)
	for _, p := range pats {
		if !idx.contains(p) {
			return false
		}
	}
	return true
}

func (h holding) coversPattern(p string) bool {
	if h.any {
		return true
	}
	for _, q := range h.patterns {
		if within(p, q) {
			return true
		}
	}
	return false
}

// intersect returns what both a and b allow, or false if nothing: a
// pattern of one side is kept when the other side contains it.
//
// It runs in time linear in the input for the usual cases (equal sides,
// literal resource names, globs with distinct literal prefixes): each
// pattern is compared only with the globs of the other side that could
// contain it (see patternIndex), never with every pattern.
func intersect(a, b holding) (holding, bool) {
	switch {
	case a.any:
		return b, true
	case b.any:
		return a, true
	}
	if slices.Equal(a.patterns, b.patterns) {
		// The usual case, a JWT's claims against its parent token: the
		// same patterns (sorted and deduplicated) allow the same resources.
		return a, len(a.patterns) > 0
	}
	ia, ib := newPatternIndex(a.patterns), newPatternIndex(b.patterns)
	var out []string
	for _, p := range a.patterns {
		if ib.contains(p) {
			out = append(out, p)
		}
	}
	for _, q := range b.patterns {
		if ia.contains(q) {
			out = append(out, q)
		}
	}
	out = minimize(out)
	return holding{patterns: out}, len(out) > 0
}

// minimize sorts pats and drops every pattern another one contains; of
// equivalent patterns the smallest string is kept.
func minimize(pats []string) []string {
	pats = sortedPatterns(pats)
	idx := newPatternIndex(pats)
	return slices.DeleteFunc(slices.Clone(pats), func(p string) bool {
		return idx.containsOther(p, func(q string) bool { return !within(q, p) || q < p })
	})
}

// patternIndex finds, for a pattern p, the patterns of a set that may
// contain it without trying them all. A pattern q contains p only if q's
// literal prefix (before its first metacharacter) is a prefix of p and its
// literal suffix (after its last one) a suffix of p, so globs are indexed
// in a trie of their literal prefixes and filtered by suffix; literal
// patterns contain only themselves and sit in a map.
type patternIndex struct {
	all   map[string]bool // every pattern, for exact matches
	globs *trieNode
}

type trieNode struct {
	next  map[byte]*trieNode
	globs []globEntry // globs whose literal prefix ends here
}

// globEntry is an indexed glob with what a pattern it contains must show:
// its literal suffix at the end, and its inner literal runs in order.
type globEntry struct {
	pattern, suffix string
	runs            []string // nil when the glob has escapes (no filter)
}

// literalRuns returns the runs of literal characters of glob q, outside
// classes, in order; every one must occur, in order, in a pattern that q
// contains, since only a literal matches a literal. ok is false when q
// has escapes, whose runs are not plain substrings.
func literalRuns(q string) (runs []string, ok bool) {
	if strings.IndexByte(q, '\\') >= 0 {
		return nil, false
	}
	start := 0
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '*', '?', '[':
			if i > start {
				runs = append(runs, q[start:i])
			}
			if q[i] == '[' {
				j := i + 1
				if j < len(q) && q[j] == '^' {
					j++
				}
				if j < len(q) && q[j] == ']' {
					j++
				}
				for j < len(q) && q[j] != ']' {
					j++
				}
				i = j
			}
			start = i + 1
		}
	}
	if start < len(q) {
		runs = append(runs, q[start:])
	}
	return runs, true
}

// mayContain is the quick necessary test before within: p must show the
// glob's literal runs in order.
func (g globEntry) mayContain(p string) bool {
	if !strings.HasSuffix(p, g.suffix) {
		return false
	}
	if g.runs == nil {
		return true
	}
	rest := p
	for _, r := range g.runs {
		i := strings.Index(rest, r)
		if i < 0 {
			return false
		}
		rest = rest[i+len(r):]
	}
	return true
}

const metaChars = `*?[\`

func newPatternIndex(pats []string) patternIndex {
	idx := patternIndex{all: make(map[string]bool, len(pats)), globs: &trieNode{}}
	for _, q := range pats {
		idx.all[q] = true
		i := strings.IndexAny(q, metaChars)
		if i < 0 {
			continue
		}
		n := idx.globs
		for j := 0; j < i; j++ {
			if n.next == nil {
				n.next = map[byte]*trieNode{}
			}
			c, ok := n.next[q[j]]
			if !ok {
				c = &trieNode{}
				n.next[q[j]] = c
			}
			n = c
		}
		suffix := q[strings.LastIndexAny(q, metaChars+"]")+1:]
		runs, _ := literalRuns(q)
		n.globs = append(n.globs, globEntry{pattern: q, suffix: suffix, runs: runs})
	}
	return idx
}

// contains reports whether some pattern of the index contains p.
func (x patternIndex) contains(p string) bool {
	if x.all[p] {
		return true
	}
	found := false
	x.candidates(p, func(q string) bool {
		if within(p, q) {
			found = true
			return false
		}
		return true
	})
	return found
}

// containsOther reports whether a pattern q of the index other than p
// contains p and passes also (minimize uses it to keep one of equivalent
// patterns). Only globs can: a literal contains nothing but itself.
func (x patternIndex) containsOther(p string, also func(q string) bool) bool {
	found := false
	x.candidates(p, func(q string) bool {
		if q != p && within(p, q) && also(q) {
			found = true
			return false
		}
		return true
	})
	return found
}

// candidates calls fn with every glob whose literal prefix is a prefix of
// p and whose literal suffix is a suffix of p, until fn returns false.
func (x patternIndex) candidates(p string, fn func(q string) bool) {
	n := x.globs
	for i := 0; n != nil; i++ {
		for _, g := range n.globs {
			if g.mayContain(p) && !fn(g.pattern) {
				return
			}
		}
		if i >= len(p) || n.next == nil {
			return
		}
		n = n.next[p[i]]
	}
}
