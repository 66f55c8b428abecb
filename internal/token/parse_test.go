package token_test

import (
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/token"
)

const valid = "lk_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY"

var sentinels = []error{
	token.ErrEmpty, token.ErrPrefix, token.ErrKind,
	token.ErrLength, token.ErrAlphabet, token.ErrChecksum,
}

// matchingSentinels returns the sentinels err wraps; Parse promises one.
func matchingSentinels(err error) []error {
	var out []error
	for _, s := range sentinels {
		if errors.Is(err, s) {
			out = append(out, s)
		}
	}
	return out
}

func TestParseAcceptsFixedVectors(t *testing.T) {
	for _, v := range vectors {
		for _, prefix := range []string{v.prefix, ""} {
			p, err := token.Parse(v.want, prefix)
			if err != nil {
				t.Fatalf("Parse(%q, %q): %v", v.want, prefix, err)
			}
			want := token.Parsed{Raw: v.want, Prefix: v.prefix, Kind: v.kind}
			if p != want {
				t.Errorf("Parse(%q, %q) = %+v, want %+v", v.want, prefix, p, want)
			}
		}
	}
}

func TestParseRejectsEachKindOfDefect(t *testing.T) {
	tests := []struct {
		name, raw, prefix string
		want              error
	}{
		{"empty", "", "lk", token.ErrEmpty},
		{"empty with any prefix", "", "", token.ErrEmpty},
		{"other deployment's prefix", "op_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrPrefix},
		{"prefix without underscore", "lkpat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrPrefix},
		{"prefix only", "lk", "lk", token.ErrPrefix},
		{"longer prefix sharing the start", "lkx_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrPrefix},
		{"upper-case prefix", "LK_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "", token.ErrPrefix},
		{"no underscore at all", "lkpat0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "", token.ErrPrefix},
		{"prefix too long", "abcdefghijklmnopq_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "", token.ErrPrefix},
		{"invalid expected prefix", valid, "l_k", token.ErrPrefix},
		{"bearer scheme left in", "Bearer " + valid, "lk", token.ErrPrefix},
		{"unknown kind", "lk_tok_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrKind},
		{"upper-case kind", "lk_PAT_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrKind},
		{"kind cut off", "lk_pa", "lk", token.ErrKind},
		{"kind without underscore", "lk_pat0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrKind},
		{"nothing after prefix", "lk_", "", token.ErrKind},
		{"one character short", valid[:len(valid)-1], "lk", token.ErrLength},
		{"one character long", valid + "0", "lk", token.ErrLength},
		{"trailing newline", valid + "\n", "lk", token.ErrLength},
		{"nothing after kind", "lk_pat_", "lk", token.ErrLength},
		{"hyphen in random part", "lk_pat_0123456789-BCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrAlphabet},
		{"underscore in random part", "lk_pat_0123456789_BCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrAlphabet},
		{"non-ASCII byte", "lk_pat_0123456789\xffBCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrAlphabet},
		{"flipped checksum character", valid[:len(valid)-1] + "Z", "lk", token.ErrChecksum},
		{"flipped random character", "lk_pat_1123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrChecksum},
		{"swapped adjacent characters", "lk_pat_1023456789ABCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrChecksum},
		{"kind changed", "lk_adm_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "lk", token.ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := token.Parse(tt.raw, tt.prefix)
			if err == nil {
				t.Fatalf("Parse(%q, %q) = %+v, want %v", tt.raw, tt.prefix, p, tt.want)
			}
			got := matchingSentinels(err)
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("Parse(%q, %q) error = %v\nmatches %v, want exactly %v", tt.raw, tt.prefix, err, got, tt.want)
			}
			if p != (token.Parsed{}) {
				t.Errorf("Parse returned %+v alongside an error", p)
			}
			msg := err.Error()
			if !strings.Contains(msg, "a valid token looks like") {
				t.Errorf("error %q does not say what a valid token looks like", msg)
			}
		})
	}
}

// Error messages end up in logs and HTTP responses, so they must not echo
// the secret part of what was presented.
func TestParseErrorsNeverContainTheSecretPart(t *testing.T) {
	secret := "0123456789ABCDEFGHIJKLMNOPQRST"
	for _, raw := range []string{
		"op_pat_" + secret + "1IhAgY",
		"lk_xxx_" + secret + "1IhAgY",
		"lk_pat_" + secret + "1IhAg",
		"lk_pat_" + secret + "1IhAg-",
		"lk_pat_" + secret + "1IhAgZ",
	} {
		_, err := token.Parse(raw, "lk")
		if err == nil {
			t.Fatalf("Parse(%q) succeeded", raw)
		}
		if strings.Contains(err.Error(), secret[:8]) {
			t.Errorf("Parse(%q) error leaks the secret: %v", raw, err)
		}
	}
}

func TestParseChecksumIsCRC32OfEverythingBefore(t *testing.T) {
	for range 1000 {
		s, err := token.Generate("lk", token.Personal)
		if err != nil {
			t.Fatal(err)
		}
		body := s[:len(s)-token.ChecksumLen]
		if got, want := s[len(body):], base62Pad6(crc32.ChecksumIEEE([]byte(body))); got != want {
			t.Fatalf("%q: checksum %q, want %q", s, got, want)
		}
	}
}

// base62Pad6 is an independent encoder for the checksum.
func base62Pad6(v uint32) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := []byte("000000")
	for i := 5; v > 0; i-- {
		out[i] = alphabet[v%62]
		v /= 62
	}
	return string(out)
}

func TestParseDoesNotAllocate(t *testing.T) {
	for _, prefix := range []string{"lk", ""} {
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := token.Parse(valid, prefix); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Parse(valid, %q) allocates %v times, want 0", prefix, allocs)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for p, ok := range map[string]bool{
		"lk": true, "op": true, "a": true, "a1": true, "abcdefghijklmnop": true,
		"": false, "1a": false, "LK": false, "l_k": false, "l-k": false,
		"abcdefghijklmnopq": false, "lk ": false, "é": false,
	} {
		err := token.ValidatePrefix(p)
		if (err == nil) != ok {
			t.Errorf("ValidatePrefix(%q) = %v, want ok=%v", p, err, ok)
		}
		if err != nil && !errors.Is(err, token.ErrPrefix) {
			t.Errorf("ValidatePrefix(%q) = %v, does not wrap ErrPrefix", p, err)
		}
	}
}

func TestKindValid(t *testing.T) {
	for k, ok := range map[token.Kind]bool{
		token.Personal: true, token.Admin: true, token.Session: true,
		"": false, "PAT": false, "tok": false, "pat_": false,
	} {
		if k.Valid() != ok {
			t.Errorf("Kind(%q).Valid() = %v, want %v", k, !ok, ok)
		}
	}
}
