package token

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

func TestCRCMatchesHashCRC32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 130 {
		for range 20 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			if got, want := crc(string(b)), crc32.ChecksumIEEE(b); got != want {
				t.Fatalf("crc(%x) = %08x, want %08x", b, got, want)
			}
		}
	}
}
