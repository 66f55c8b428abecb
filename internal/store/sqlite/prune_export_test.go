package sqlite

// The conformance suite's usage deletion goes through seven tokens; in
// chunks of two it crosses chunk bounds (and ends on a partial chunk) as a
// million tokens cross chunks of a thousand.
func init() { usagePruneChunk = 2 }
