package token

// Found is one token located by Find.
type Found struct {
	Token  string // the token, copied out of the text
	Offset int    // byte offset of its first character in the text
	Line   int    // 1-based line number
}

// Find returns every checksum-valid token in text, in order, for `latchkey
// scan` and leak reports. An empty prefix matches any valid prefix. A token
// counts only when it is a whole word: preceded and followed by a byte
// outside [A-Za-z0-9_] or by the edge of text. Because the checksum must
// verify, lookalikes and typos are not reported.
func Find(text []byte, prefix string) []Found {
	var found []Found
	line := 1
	for i := 0; i < len(text); {
		if !isWord[text[i]] {
			if text[i] == '\n' {
				line++
			}
			i++
			continue
		}
		j := i + 1
		for j < len(text) && isWord[text[j]] {
			j++
		}
		if looksLikeToken(text[i:j]) {
			if p, err := Parse(string(text[i:j]), prefix); err == nil {
				found = append(found, Found{Token: p.Raw, Offset: i, Line: line})
			}
		}
		i = j
	}
	return found
}

// looksLikeToken reports whether a word has a token's length and its two
// underscores in place, so that Find copies and parses only real candidates.
func looksLikeToken(w []byte) bool {
	n := len(w)
	return n >= minTokenLen && n <= maxTokenLen &&
		w[n-bodyLen-1] == '_' && w[n-bodyLen-kindLen-2] == '_'
}
