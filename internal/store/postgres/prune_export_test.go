package postgres

// The conformance suite's usage deletion goes through seven tokens and
// its federation token deletion through three; in
// chunks of two it crosses chunk bounds (and ends on a partial chunk) as a
// million tokens cross chunks of a thousand.
func init() { usagePruneChunk, fedDeleteChunk = 2, 2 }

// SetUsagePruneChunk sets the chunk of DeleteTokenUsageBefore, for the
// benchmark to measure the server's, and returns what restores it.
func SetUsagePruneChunk(n int) (restore func()) {
	old := usagePruneChunk
	usagePruneChunk = n
	return func() { usagePruneChunk = old }
}
