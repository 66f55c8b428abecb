package token_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/latchkey/latchkey/internal/token"
)

func TestGenerateFromMatchesFixedVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			got, err := token.GenerateFrom(&cycleReader{b: v.stream}, v.prefix, v.kind)
			if err != nil {
				t.Fatal(err)
			}
			if got != v.want {
				t.Errorf("GenerateFrom = %q, want %q", got, v.want)
			}
		})
	}
}

func TestGenerateFromDoesNotDependOnReadSizes(t *testing.T) {
	r := iotest.OneByteReader(&cycleReader{b: byteRange(0, 256)})
	got, err := token.GenerateFrom(r, "lk", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	if want := vectors[0].want; got != want {
		t.Errorf("GenerateFrom = %q, want %q", got, want)
	}
}

// Every byte below 248 maps to exactly 4 characters' worth of the byte
// space, so a stream holding each byte equally often must yield each
// character equally often: there is no modulo bias.
func TestGenerateFromIsUnbiased(t *testing.T) {
	r := &cycleReader{b: byteRange(0, 256)}
	counts := map[rune]int{}
	// 124 tokens use 3720 accepted bytes: exactly 15 cycles of 0..247.
	for range 124 {
		s, err := token.GenerateFrom(r, "lk", token.Personal)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range s[len("lk_pat_") : len(s)-token.ChecksumLen] {
			counts[c]++
		}
	}
	if len(counts) != 62 {
		t.Fatalf("saw %d distinct characters, want 62", len(counts))
	}
	for c, n := range counts {
		if n != 60 {
			t.Errorf("character %q appeared %d times, want 60", c, n)
		}
	}
}

func TestGenerateFromReturnsReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	for name, r := range map[string]io.Reader{
		"error":      iotest.ErrReader(boom),
		"short read": strings.NewReader("abc"),
		"all biased": io.LimitReader(&cycleReader{b: []byte{255}}, 1000),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := token.GenerateFrom(r, "lk", token.Personal); err == nil {
				t.Fatal("GenerateFrom succeeded, want an error")
			}
		})
	}
}

func TestGenerateRejectsBadPrefixAndKind(t *testing.T) {
	tests := []struct {
		prefix string
		kind   token.Kind
		want   error
	}{
		{"LK", token.Personal, token.ErrPrefix},
		{"l_k", token.Personal, token.ErrPrefix},
		{"1lk", token.Personal, token.ErrPrefix},
		{"abcdefghijklmnopq", token.Personal, token.ErrPrefix},
		{"lk", "", token.ErrKind},
		{"lk", "PAT", token.ErrKind},
		{"lk", "tok", token.ErrKind},
	}
	for _, tt := range tests {
		_, err := token.Generate(tt.prefix, tt.kind)
		if !errors.Is(err, tt.want) {
			t.Errorf("Generate(%q, %q) error = %v, want %v", tt.prefix, tt.kind, err, tt.want)
		}
	}
}

func TestGenerateWithEmptyPrefixUsesDefault(t *testing.T) {
	s, err := token.Generate("", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, token.DefaultPrefix+"_pat_") {
		t.Errorf("Generate(\"\", pat) = %q, want prefix %q", s, token.DefaultPrefix+"_pat_")
	}
}

func TestGeneratedTokensAlwaysParse(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{"lk", "op", "x", "abcdefghijklmnop", "a1b2"} {
		for _, kind := range []token.Kind{token.Personal, token.Admin, token.Session} {
			for range 300 {
				s, err := token.Generate(prefix, kind)
				if err != nil {
					t.Fatal(err)
				}
				if seen[s] {
					t.Fatalf("Generate returned %q twice", s)
				}
				seen[s] = true
				p, err := token.Parse(s, prefix)
				if err != nil {
					t.Fatalf("Parse(%q, %q): %v", s, prefix, err)
				}
				if p.Raw != s || p.Prefix != prefix || p.Kind != kind {
					t.Fatalf("Parse(%q) = %+v", s, p)
				}
				if _, err := token.Parse(s, ""); err != nil {
					t.Fatalf("Parse(%q, any prefix): %v", s, err)
				}
			}
		}
	}
}
