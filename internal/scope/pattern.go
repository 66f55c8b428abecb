package scope

import (
	"path"
	"slices"
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
// patterns means any resource.
func (h holding) covers(pats []string) bool {
	if h.any {
		return true
	}
	if len(pats) == 0 {
		return false
	}
	for _, p := range pats {
		if !h.coversPattern(p) {
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
func intersect(a, b holding) (holding, bool) {
	switch {
	case a.any:
		return b, true
	case b.any:
		return a, true
	}
	var out []string
	for _, p := range a.patterns {
		for _, q := range b.patterns {
			switch {
			case within(p, q):
				out = append(out, p)
			case within(q, p):
				out = append(out, q)
			}
		}
	}
	out = minimize(out)
	return holding{patterns: out}, len(out) > 0
}

// minimize sorts pats and drops every pattern another one contains; of
// equivalent patterns the smallest string is kept.
func minimize(pats []string) []string {
	pats = sortedPatterns(pats)
	return slices.DeleteFunc(slices.Clone(pats), func(p string) bool {
		for _, q := range pats {
			if q != p && within(p, q) && (!within(q, p) || q < p) {
				return true
			}
		}
		return false
	})
}
