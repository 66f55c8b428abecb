package sqlite

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestDecodeListReadsWhatEncodingJSONReads pins the fast path of
// decodeList to what encoding/json alone read: the same list (nil or not),
// or an error for both.
func TestDecodeListReadsWhatEncodingJSONReads(t *testing.T) {
	for _, s := range listCorpus {
		checkDecodeList(t, s)
	}
}

func FuzzDecodeList(f *testing.F) {
	for _, s := range listCorpus {
		f.Add(s)
	}
	f.Fuzz(checkDecodeList)
}

var listCorpus = []string{
	`[]`, `[""]`, `["a"]`, `["repo","machine"]`, `["a","","b"]`, `["a",""]`, `["",""]`,
	`["repo:read=acme/*","tokens"]`, `["10.0.0.0/8","2001:db8::/32"]`, `["a,b"]`, `["a]"]`, `["[a"]`,
	`["a", "b"]`, `[ "a"]`, `["a"] `, `["a"`, `"a"]`, `["a""]`, `["a"],["b"]`, `["a\"b"]`, `["a\\b"]`,
	`["\u003c"]`, `["é"]`, "[\"a\tb\"]", "[\"\x7f\"]", "[\"\xff\"]", `["a",]`, `[,"a"]`, `["]`, `[`,
	`["a","b","c","d","e","f","g","h"]`, `[1]`, `null`, `{}`,
}

func checkDecodeList(t *testing.T, s string) {
	got, gotErr := decodeList(s)
	want := []string{}
	wantErr := json.Unmarshal([]byte(s), &want)
	if s == "" {
		want, wantErr = []string{}, nil // an empty column is an empty list
	}
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("decodeList(%q) error = %v, encoding/json: %v", s, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeList(%q) = %#v, encoding/json reads %#v", s, got, want)
	}
}
