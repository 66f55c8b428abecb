package sqlite

import "encoding/binary"

// A token's rowid is its digest's first eight bytes.
//
// The tokens table is SQLite's B-tree of rows by rowid; the digest's unique
// index is a second B-tree, of (digest, rowid). Found by its digest alone,
// an uncached verification descends both, and with a million tokens it
// reads a leaf of each from the operating system: two page reads per
// verification that the writer's and readers' caches cannot hold. With the
// rowid taken from the digest, the verification goes straight to the row
// (rowid = digestRowid(digest) AND digest = digest): one descent, one leaf.
//
// The rowid is only where a token is looked for first, never what decides
// that a secret matches: the digest is compared as well, and a token found
// elsewhere (created before this rule, or whose prefix another token
// already had: a chance of one in 2^64 per pair) is found through the
// digest's index as before. Creation takes the digest's rowid when it is
// free and lets SQLite choose one otherwise; regeneration moves the row to
// its new digest's rowid on the same terms.
//
// The price is paid by writes: new rows land all over the table instead of
// at its end, so a creation rewrites a random leaf of the table, as it
// already did one of the digest's index.

// digestRowid is the rowid a token with digest d is looked for at, or nil
// (let SQLite choose) for a digest too short to have one.
func digestRowid(d []byte) any {
	if len(d) < 8 {
		return nil
	}
	return int64(binary.BigEndian.Uint64(d))
}

// rowidSQL is the rowid expression of an INSERT into tokens, taking two
// parameters, both digestRowid's value: it, when no row has that rowid,
// else NULL, for SQLite to choose.
const rowidSQL = `(SELECT iif(count(*), NULL, ?) FROM tokens WHERE rowid = ?)`
