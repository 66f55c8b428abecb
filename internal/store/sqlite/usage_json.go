package sqlite

import (
	"encoding/json"
	"slices"
	"strconv"
)

// The JSON of the usage pipeline. Every journaled use is encoded once, by
// JournalTokenUse, and decoded once, by the fold, and every fold chunk
// encodes the rows it writes (recordUsesOf). Under a load of first uses,
// encoding/json doing that work was 3-3.5% of the server's CPU and a tenth
// of the bytes it allocated (reflection, an interface per value, a copy
// of each result), which the garbage collector then paid for again.
//
// The encoders below append what json.Marshal writes for the same value,
// byte for byte, into a buffer the caller reuses; usage_json_test.go
// compares the two on fuzzed values. The decoder (usage_json_decode.go)
// reads the form the journal is written in without reflection and leaves
// any input it does not fully understand to json.Unmarshal, so it reads
// what encoding/json read and fails where it failed, rows of earlier
// versions included.

// appendJSONString appends s as json.Marshal writes it. Printable ASCII,
// which token ids, addresses, days and nearly every agent are made of, is
// copied as is, with quotes and backslashes escaped. A string with any
// other byte is left to encoding/json: control characters, the <, > and &
// it escapes for HTML, and non-ASCII text, of which it rewrites invalid
// UTF-8 and U+2028 and U+2029. Those rules then have one implementation,
// and the hostile agents that need them are rare enough that their cost
// does not matter.
func appendJSONString(dst []byte, s string) []byte {
	start := len(dst)
	dst = append(dst, '"')
	plain := 0 // s[plain:i] is still to be copied
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, s[plain:i]...)
			dst = append(dst, '\\', c)
			plain = i + 1
		case c < 0x20 || c > 0x7e || c == '<' || c == '>' || c == '&':
			return appendMarshaledString(dst[:start], s)
		}
	}
	dst = append(dst, s[plain:]...)
	return append(dst, '"')
}

func appendMarshaledString(dst []byte, s string) []byte {
	b, err := json.Marshal(s)
	if err != nil { // cannot happen for a string
		panic(err)
	}
	return append(dst, b...)
}

// appendJSONArray appends l as json.Marshal writes a slice whose
// elements elem writes: null when nil, else [e,e,...].
func appendJSONArray[T any](dst []byte, l []T, elem func([]byte, *T) []byte) []byte {
	if l == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = elem(dst, &l[i])
	}
	return append(dst, ']')
}

// appendJSONStrings appends l as json.Marshal writes a []string.
func appendJSONStrings(dst []byte, l []string) []byte {
	return appendJSONArray(dst, l, func(dst []byte, s *string) []byte { return appendJSONString(dst, *s) })
}

// appendJSONInts appends l as json.Marshal writes a []int64.
func appendJSONInts(dst []byte, l []int64) []byte {
	return appendJSONArray(dst, l, func(dst []byte, n *int64) []byte { return strconv.AppendInt(dst, *n, 10) })
}

// appendJSONCounts appends m as json.Marshal writes a map[string]int64:
// its keys sorted.
func appendJSONCounts(dst []byte, m map[string]int64) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	var few [4]string // a use's counts are of a day or two
	keys := few[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, m[k], 10)
	}
	return append(dst, '}')
}

// appendJournalArgs appends rows as json.Marshal writes them.
func appendJournalArgs(dst []byte, rows []journalArg) []byte {
	return appendJSONArray(dst, rows, func(dst []byte, r *journalArg) []byte {
		dst = append(dst, `{"i":`...)
		dst = appendJSONString(dst, r.ID)
		dst = append(dst, `,"u":`...)
		dst = appendJournalUse(dst, &r.Use)
		return append(dst, '}')
	})
}

// appendJournalUse appends j as json.Marshal writes it, its empty fields
// left out as omitempty leaves them out.
func appendJournalUse(dst []byte, j *journalUse) []byte {
	dst = append(dst, '{')
	open := len(dst) // no comma before the first field
	if j.At != nil {
		dst = appendField(dst, open, `"t":`)
		dst = strconv.AppendInt(dst, *j.At, 10)
	}
	if j.IP != "" {
		dst = appendField(dst, open, `"i":`)
		dst = appendJSONString(dst, j.IP)
	}
	if j.Agent != "" {
		dst = appendField(dst, open, `"a":`)
		dst = appendJSONString(dst, j.Agent)
	}
	if len(j.IPs) > 0 {
		dst = appendField(dst, open, `"r":`)
		dst = appendJSONStrings(dst, j.IPs)
	}
	if len(j.Counts) > 0 {
		dst = appendField(dst, open, `"c":`)
		dst = appendJSONCounts(dst, j.Counts)
	}
	if len(j.New) > 0 {
		dst = appendField(dst, open, `"n":`)
		dst = append(dst, '[')
		for i, a := range j.New {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"i":`...)
			dst = appendJSONString(dst, a.IP)
			if a.Agent != "" {
				dst = append(dst, `,"a":`...)
				dst = appendJSONString(dst, a.Agent)
			}
			dst = append(dst, `,"t":`...)
			dst = strconv.AppendInt(dst, a.At, 10)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if j.Same != 0 {
		dst = appendField(dst, open, `"s":`)
		dst = strconv.AppendUint(dst, uint64(j.Same), 10)
	}
	if j.N != 0 {
		dst = appendField(dst, open, `"k":`)
		dst = strconv.AppendInt(dst, j.N, 10)
	}
	return append(dst, '}')
}

// appendField appends the key of a field of an object that opened at open.
func appendField(dst []byte, open int, key string) []byte {
	if len(dst) > open {
		dst = append(dst, ',')
	}
	return append(dst, key...)
}

// appendLastUseArgs appends rows as json.Marshal writes them.
func appendLastUseArgs(dst []byte, rows []lastUseArg) []byte {
	return appendJSONArray(dst, rows, func(dst []byte, r *lastUseArg) []byte {
		dst = append(dst, `{"i":`...)
		dst = appendJSONString(dst, r.ID)
		dst = append(dst, `,"t":`...)
		dst = strconv.AppendInt(dst, r.At, 10)
		dst = append(dst, `,"p":`...)
		dst = appendJSONString(dst, r.IP)
		dst = append(dst, `,"a":`...)
		dst = appendJSONString(dst, r.Agent)
		dst = append(dst, `,"r":`...)
		dst = appendJSONString(dst, r.Recent)
		dst = append(dst, `,"d":`...)
		dst = appendJSONString(dst, r.Day)
		dst = append(dst, `,"n":`...)
		dst = strconv.AppendInt(dst, r.DayCount, 10)
		return append(dst, '}')
	})
}

// appendCountArgs appends rows as json.Marshal writes them.
func appendCountArgs(dst []byte, rows []countArg) []byte {
	return appendJSONArray(dst, rows, func(dst []byte, r *countArg) []byte {
		dst = append(dst, `{"i":`...)
		dst = appendJSONString(dst, r.ID)
		dst = append(dst, `,"d":`...)
		dst = appendJSONString(dst, r.Day)
		dst = append(dst, `,"n":`...)
		dst = strconv.AppendInt(dst, r.N, 10)
		return append(dst, '}')
	})
}
