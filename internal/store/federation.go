package store

import "encoding/json"

// EncodeClaims is how both backends store a fed token's matched claims: a
// JSON object; nil or empty is "{}".
func EncodeClaims(c map[string]string) string {
	if len(c) == 0 {
		return "{}"
	}
	b, err := json.Marshal(c)
	if err != nil { // cannot happen for map[string]string
		panic(err)
	}
	return string(b)
}

// DecodeClaims reads stored claims; "{}" and "" are nil.
func DecodeClaims(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	return out, nil
}
