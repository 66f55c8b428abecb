package token

import "hash/crc32"

// alphabet is base62 in ASCII order, so a character's index is its value.
const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Byte-class tables for the hot loops of Parse and Find: digit is the
// base62 value of a character (meaningful only where isBase62 is true).
var (
	isBase62, isWord [256]bool
	digit            [256]byte
)

func init() {
	for i := 0; i < len(alphabet); i++ {
		isBase62[alphabet[i]] = true
		isWord[alphabet[i]] = true
		digit[alphabet[i]] = byte(i)
	}
	isWord['_'] = true
}

// crcTable is the standard CRC32 (IEEE) table extended for slicing-by-8:
// crcTable[k][b] is the CRC of byte b followed by k zero bytes. Parse
// checksums every presented token, and eight bytes per step is about four
// times faster than one.
var crcTable [8][256]uint32

func init() {
	crcTable[0] = *crc32.IEEETable
	for b := range 256 {
		c := crcTable[0][b]
		for k := 1; k < 8; k++ {
			c = crcTable[0][byte(c)] ^ c>>8
			crcTable[k][b] = c
		}
	}
}

// crc computes the CRC32 (IEEE) of s, the same value as crc32.ChecksumIEEE.
// It takes a string so that Parse needs no []byte copy and does not allocate.
func crc(s string) uint32 {
	t := &crcTable
	c := ^uint32(0)
	for ; len(s) >= 8; s = s[8:] {
		c ^= uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
		c = t[7][byte(c)] ^ t[6][byte(c>>8)] ^ t[5][byte(c>>16)] ^ t[4][c>>24] ^
			t[3][s[4]] ^ t[2][s[5]] ^ t[1][s[6]] ^ t[0][s[7]]
	}
	for i := 0; i < len(s); i++ {
		c = t[0][byte(c)^s[i]] ^ c>>8
	}
	return ^c
}

// checksumOK reports whether the last ChecksumLen characters of raw, all
// already known to be base62, are the checksum of the rest. It decodes them
// rather than encoding the CRC, so the decoding overlaps the CRC computation.
// A 6-digit value can exceed 32 bits, so the comparison is on 64 bits: each
// CRC has exactly one accepted encoding.
func checksumOK(raw string) bool {
	n := len(raw) - ChecksumLen
	var v uint64
	for i := n; i < len(raw); i++ {
		v = v*62 + uint64(digit[raw[i]])
	}
	return v == uint64(crc(raw[:n]))
}

// checksum encodes the CRC32 of s as ChecksumLen base62 characters, most
// significant first, left-padded with '0'. 62^6 > 2^32, so it always fits.
func checksum(s string) [ChecksumLen]byte {
	var out [ChecksumLen]byte
	v := crc(s)
	for i := ChecksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[v%62]
		v /= 62
	}
	return out
}
