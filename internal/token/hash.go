package token

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Digest is the SHA-256 of a whole token string. It is the only form of a
// token that is ever stored: a token carries about 178 random bits, so a
// fast unsalted hash is safe and lets verification be one indexed lookup.
type Digest [32]byte

// Hash returns the Digest of raw. It does not allocate for any string up
// to 128 bytes, which covers every token (at most 57): it runs on every
// verification, before the cache lookup.
func Hash(raw string) Digest {
	var buf [128]byte // on the stack: converting a long string would allocate
	if len(raw) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], raw)])
	}
	return sha256.Sum256([]byte(raw))
}

// Bytes returns the digest as a byte slice, for storage and Equal.
func (d Digest) Bytes() []byte {
	return d[:]
}

// Hint returns the last 4 characters of raw, which are safe to display and
// let a user tell their tokens apart. They are checksum characters: they
// reveal at most about 24 of the token's 178 random bits, as GitHub's hints
// do. A string shorter than any token yields "", so a hint never shows a
// whole short secret.
func Hint(raw string) string {
	if len(raw) < minTokenLen {
		return ""
	}
	return raw[len(raw)-4:]
}

// Equal reports whether two digests are equal, in time that depends only on
// their lengths, so comparing a presented token's digest leaks nothing.
func Equal(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}
