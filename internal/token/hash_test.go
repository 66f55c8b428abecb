package token_test

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/token"
)

func TestHashIsSHA256OfTheWholeString(t *testing.T) {
	inputs := []string{"", strings.Repeat("x", 128), strings.Repeat("y", 129), strings.Repeat("z", 1000)}
	for _, v := range vectors {
		inputs = append(inputs, v.want)
	}
	for _, in := range inputs {
		want := sha256.Sum256([]byte(in))
		got := token.Hash(in)
		if got != token.Digest(want) {
			t.Errorf("Hash(%q) = %x, want %x", in, got, want)
		}
		if !token.Equal(got.Bytes(), want[:]) {
			t.Errorf("Equal(Hash(%q).Bytes(), sha256) = false", in)
		}
	}
}

func TestHashDoesNotAllocate(t *testing.T) {
	longest := vectors[len(vectors)-1].want // 57 bytes, the longest possible
	var sink token.Digest
	allocs := testing.AllocsPerRun(1000, func() { sink = token.Hash(longest) })
	if allocs != 0 {
		t.Errorf("Hash allocates %v times, want 0", allocs)
	}
	_ = sink
}

func TestEqualComparesDigests(t *testing.T) {
	a := token.Hash(valid).Bytes()
	b := token.Hash(valid).Bytes()
	other := token.Hash(valid[:len(valid)-1] + "Z").Bytes()
	tests := []struct {
		name string
		x, y []byte
		want bool
	}{
		{"same token", a, b, true},
		{"different token", a, other, false},
		{"prefix of digest", a, a[:31], false},
		{"empty vs digest", nil, a, false},
	}
	for _, tt := range tests {
		if got := token.Equal(tt.x, tt.y); got != tt.want {
			t.Errorf("%s: Equal = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestHintIsTheLastFourCharacters(t *testing.T) {
	for raw, want := range map[string]string{
		valid: "hAgY",
		"a_pat_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz3MJtfi": "Jtfi",
		"short": "",
		"":      "",
	} {
		if got := token.Hint(raw); got != want {
			t.Errorf("Hint(%q) = %q, want %q", raw, got, want)
		}
	}
}
