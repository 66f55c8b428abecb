package token_test

import "github.com/latchkey/latchkey/internal/token"

// cycleReader yields its bytes over and over, so GenerateFrom gives the same
// token every time.
type cycleReader struct {
	b []byte
	i int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	for k := range p {
		p[k] = c.b[c.i%len(c.b)]
		c.i++
	}
	return len(p), nil
}

// byteRange returns the bytes lo, lo+1, ..., hi-1.
func byteRange(lo, hi int) []byte {
	b := make([]byte, 0, hi-lo)
	for i := lo; i < hi; i++ {
		b = append(b, byte(i))
	}
	return b
}

// vectors are tokens pinned byte for byte. The expected strings were
// computed outside Go (Python's zlib.crc32 and its own base62) so they check
// the format, not this package against itself.
var vectors = []struct {
	name   string
	stream []byte
	prefix string
	kind   token.Kind
	want   string
}{
	{"personal counting from zero", byteRange(0, 256), "lk", token.Personal, "lk_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY"},
	{"admin same randomness", byteRange(0, 256), "lk", token.Admin, "lk_adm_0123456789ABCDEFGHIJKLMNOPQRST30obOl"},
	{"session same randomness", byteRange(0, 256), "lk", token.Session, "lk_ses_0123456789ABCDEFGHIJKLMNOPQRST1LmjVt"},
	{"admin from byte 30", byteRange(30, 256), "lk", token.Admin, "lk_adm_UVWXYZabcdefghijklmnopqrstuvwx43GfYn"},
	{"custom prefix wraps modulo 62", byteRange(60, 256), "op", token.Session, "op_ses_yz0123456789ABCDEFGHIJKLMNOPQR4JiVrT"},
	{"all zero bytes", []byte{0}, "lk", token.Personal, "lk_pat_0000000000000000000000000000003WEGBP"},
	{"one-letter prefix", []byte{61}, "a", token.Personal, "a_pat_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz3MJtfi"},
	{"bytes 248-255 are skipped", byteRange(240, 256), "lk", token.Personal, "lk_pat_stuvwxyzstuvwxyzstuvwxyzstuvwx2nSvbP"},
	{"longest prefix, checksum padded with 0", []byte{7, 250, 123}, "abcdefghijklmnop", token.Admin, "abcdefghijklmnop_adm_7z7z7z7z7z7z7z7z7z7z7z7z7z7z7z0BDQbC"},
}
