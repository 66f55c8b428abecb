package token

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"
)

// Generate returns a new token of the given kind, its random part read from
// crypto/rand. An empty prefix means DefaultPrefix.
func Generate(prefix string, kind Kind) (string, error) {
	return GenerateFrom(rand.Reader, prefix, kind)
}

// GenerateFrom is Generate reading randomness from r, so tests can pin
// exact tokens. The random part is the first RandomLen bytes of r below 248,
// each taken modulo 62; bytes 248–255 are skipped so that no character is
// more likely than another (248 = 4×62).
func GenerateFrom(r io.Reader, prefix string, kind Kind) (string, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := ValidatePrefix(prefix); err != nil {
		return "", err
	}
	if !kind.Valid() {
		return "", &formatError{ErrKind, fmt.Sprintf("generate token: kind %q is not pat, adm or ses", string(kind))}
	}
	random, err := randomBase62(r)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(prefix) + 1 + kindLen + 1 + bodyLen)
	b.WriteString(prefix)
	b.WriteByte('_')
	b.WriteString(string(kind))
	b.WriteByte('_')
	b.Write(random[:])
	sum := checksum(b.String())
	b.Write(sum[:])
	return b.String(), nil
}

// randomBase62 draws RandomLen uniform base62 characters from r by
// rejection sampling. It reads only as many bytes as it still needs, so the
// result depends on the byte stream alone, not on how r splits its reads.
func randomBase62(r io.Reader) ([RandomLen]byte, error) {
	var out, buf [RandomLen]byte
	n := 0
	for n < RandomLen {
		chunk := buf[:RandomLen-n]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return out, fmt.Errorf("read randomness: %w", err)
		}
		for _, c := range chunk {
			if c < 248 {
				out[n] = alphabet[c%62]
				n++
			}
		}
	}
	return out, nil
}
