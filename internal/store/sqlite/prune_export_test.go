package sqlite

// The conformance suite's usage deletion goes through seven tokens and
// its federation token deletion through three; in
// chunks of two it crosses chunk bounds (and ends on a partial chunk) as a
// million tokens cross chunks of a thousand.
func init() { usagePruneChunk, fedDeleteChunk = 2, 2 }
