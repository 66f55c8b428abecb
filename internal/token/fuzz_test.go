package token_test

import (
	"bytes"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/token"
)

// FuzzParse checks that Parse never panics, that every failure wraps exactly
// one sentinel, and that anything it accepts re-verifies independently and
// round-trips: the same randomness regenerates the same token.
func FuzzParse(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.want, v.prefix)
		f.Add(v.want, "")
	}
	f.Add("", "lk")
	f.Add("lk_pat_", "lk")
	f.Add("lk_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgZ", "lk")
	f.Add("LK_PAT_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "")
	f.Add("lk_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY\n", "lk")
	f.Add("a_b_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY", "a_b")
	f.Fuzz(func(t *testing.T, raw, prefix string) {
		p, err := token.Parse(raw, prefix)
		if err != nil {
			if n := len(matchingSentinels(err)); n != 1 {
				t.Fatalf("Parse(%q, %q) error %v wraps %d sentinels, want 1", raw, prefix, err, n)
			}
			return
		}
		checkAccepted(t, raw, prefix, p)
	})
}

func checkAccepted(t *testing.T, raw, prefix string, p token.Parsed) {
	t.Helper()
	if p.Raw != raw || (prefix != "" && p.Prefix != prefix) {
		t.Fatalf("Parse(%q, %q) = %+v", raw, prefix, p)
	}
	if err := token.ValidatePrefix(p.Prefix); err != nil {
		t.Fatalf("Parse(%q) accepted prefix %q: %v", raw, p.Prefix, err)
	}
	if !p.Kind.Valid() {
		t.Fatalf("Parse(%q) accepted kind %q", raw, p.Kind)
	}
	head := p.Prefix + "_" + string(p.Kind) + "_"
	if !strings.HasPrefix(raw, head) || len(raw) != len(head)+token.RandomLen+token.ChecksumLen {
		t.Fatalf("Parse(%q) accepted a token not shaped %s<36 characters>", raw, head)
	}
	random, sum := raw[len(head):len(raw)-token.ChecksumLen], raw[len(raw)-token.ChecksumLen:]
	if want := base62Pad6(crc32.ChecksumIEEE([]byte(head + random))); sum != want {
		t.Fatalf("Parse(%q) accepted checksum %q, want %q", raw, sum, want)
	}
	// Round trip: feed the characters' values back as randomness.
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var stream []byte
	for i := 0; i < len(random); i++ {
		stream = append(stream, byte(strings.IndexByte(alphabet, random[i])))
	}
	again, err := token.GenerateFrom(bytes.NewReader(stream), p.Prefix, p.Kind)
	if err != nil || again != raw {
		t.Fatalf("GenerateFrom(randomness of %q) = %q, %v", raw, again, err)
	}
	if q, err := token.Parse(raw, p.Prefix); err != nil || q != p {
		t.Fatalf("re-Parse(%q, %q) = %+v, %v", raw, p.Prefix, q, err)
	}
	if found := token.Find([]byte(" "+raw+"\n"), prefix); len(found) != 1 || found[0].Token != raw || found[0].Offset != 1 {
		t.Fatalf("Find did not find accepted token %q: %+v", raw, found)
	}
}

// FuzzFind checks that Find never panics and reports only tokens that Parse
// accepts, at the offset and line where they are.
func FuzzFind(f *testing.F) {
	f.Add([]byte("LATCHKEY_TOKEN="+pat+"\n{\"t\":\""+ses+"\"}"), "")
	f.Add([]byte(lookalike+"\n"+adm), "lk")
	f.Fuzz(func(t *testing.T, text []byte, prefix string) {
		for _, fd := range token.Find(text, prefix) {
			if _, err := token.Parse(fd.Token, prefix); err != nil {
				t.Fatalf("Find reported %q which Parse rejects: %v", fd.Token, err)
			}
			if !bytes.HasPrefix(text[fd.Offset:], []byte(fd.Token)) {
				t.Fatalf("Find reported %q at offset %d where it is not", fd.Token, fd.Offset)
			}
			if line := 1 + bytes.Count(text[:fd.Offset], []byte("\n")); line != fd.Line {
				t.Fatalf("Find reported line %d, want %d", fd.Line, line)
			}
		}
	})
}

var errSink error

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, errSink = token.Parse(valid, "lk")
	}
	if errSink != nil {
		b.Fatal(errSink)
	}
}

func BenchmarkParseRejectsBadChecksum(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, errSink = token.Parse(lookalike, "lk")
	}
	if !errors.Is(errSink, token.ErrChecksum) {
		b.Fatal(errSink)
	}
}

func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	var d token.Digest
	for b.Loop() {
		d = token.Hash(valid)
	}
	_ = d
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := token.Generate("lk", token.Personal); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFind(b *testing.B) {
	text := []byte(strings.Repeat("some ordinary configuration text = value;\n", 1000) + "T=" + pat + "\n")
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if len(token.Find(text, "")) != 1 {
			b.Fatal("token not found")
		}
	}
}
