package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/danielgtaylor/huma/v2"
)

// unmarshalJSON decodes a request body as huma's JSON format does, but first
// refuses a body in which one object names a key twice (ignoring case, as
// the decoder matches keys to fields). Go keeps the last of
// two equal keys, while proxies, WAFs and policy checks in front of the API
// often read the first: {"scopes":["repo:read"],"scopes":["*"]} must not be
// a narrow token to the one and a super-admin token to the other.
//
// huma unmarshals every body twice, into an any for validation and then into
// the input struct; only the first, which every body goes through, scans.
func unmarshalJSON(data []byte, v any) error {
	if _, validating := v.(*any); validating {
		if err := checkDuplicateKeys(data); err != nil {
			return err
		}
	}
	return huma.DefaultJSONFormat.Unmarshal(data, v)
}

// checkDuplicateKeys reports the first key that an object of data names
// twice. Syntax errors are left to the decoder that follows, which words
// them better.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers are skipped, never converted
	// keys[i] holds the keys seen so far in the i-th open object, nil for
	// an open array; expectKey says whether the next token of the
	// innermost object is a key.
	var keys []map[string]struct{}
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				keys = append(keys, map[string]struct{}{})
				expectKey = true
				continue
			case '[':
				keys = append(keys, nil)
			case '}', ']':
				keys = keys[:len(keys)-1]
			}
		case string:
			if expectKey {
				top, k := keys[len(keys)-1], foldKey(t)
				if _, seen := top[k]; seen {
					return fmt.Errorf("the body names the field %q twice in one object (field names are matched ignoring case); send each field once", t)
				}
				top[k] = struct{}{}
				expectKey = false
				continue
			}
		}
		// After a value (or a closed container) in an object, a key comes next.
		expectKey = len(keys) > 0 && keys[len(keys)-1] != nil
	}
}

// foldKey is the key as Go's decoder matches it to a field: ignoring case
// under Unicode simple folding ("Scopes", "SCOPES" and "scopes" are one
// field; so are "k" and the Kelvin sign). Each rune becomes the smallest of
// its folding orbit.
func foldKey(key string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, key)
}
