// Package token defines the format of every secret Latchkey issues: it
// generates, parses, checksums and hashes tokens. It is pure: no I/O except
// reading crypto/rand in Generate.
//
// A token is
//
//	<prefix>_<kind>_<30 random base62 characters><6 base62 characters of checksum>
//
// for example lk_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY, where
//
//   - prefix is "lk" by default and configurable per deployment: 1 to 16 of
//     [a-z0-9], starting with a letter, so the first '_' always ends it;
//   - kind is "pat" (personal access token), "adm" (admin access token) or
//     "ses" (session token);
//   - the random part is base62 (0-9A-Za-z) drawn from crypto/rand by
//     rejection sampling, so every character is uniform (about 178 bits);
//   - the checksum is the CRC32 (IEEE) of everything before it, most
//     significant digit first, left-padded with '0'.
//
// The checksum is not a secret and adds no security. It lets anyone, offline
// and without the database, tell a real token from a typo or a lookalike: a
// client can reject a mistyped token before sending it, the server rejects
// garbage before any cache or database lookup (Parse), and secret scanners
// (Find, `latchkey scan`, POST /api/v1/leaks) report only strings whose
// checksum verifies, so a leak report is almost never a false positive. The
// prefix and kind make a leaked token recognisable at a glance.
//
// Only the SHA-256 of the whole token (Hash) is stored; tokens carry enough
// entropy that a fast hash is safe, and lookups compare digests in constant
// time (Equal). Hint gives the last four characters for display.
package token
