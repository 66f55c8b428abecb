package sqlite

import (
	"strings"
	"testing"
)

// TestHotPathQueriesUseIndexes pins that verification-path lookups never
// scan a table: their cost must stay flat from 1k to 1M tokens.
func TestHotPathQueriesUseIndexes(t *testing.T) {
	s := openTest(t, options{})
	for _, q := range []string{
		getTokenByDigestSQL, getTokenAndOwnerByDigestSQL, getTokenAndOwnerByPrevDigestSQL, getTokenSQL, getUserSQL, getSessionByDigestSQL,
		`SELECT ` + userColumns + ` FROM users WHERE lower(username) = lower(?) AND deleted_at IS NULL`,
		selectToken + ` WHERE user_id = ? ORDER BY id DESC LIMIT 100`,
		`UPDATE tokens SET revoked_at = ?, updated_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
		`SELECT day, count FROM token_usage WHERE token_id = ? AND day >= ? ORDER BY day`,
	} {
		plan := explain(t, s, q, nil, nil, nil)
		joined := strings.Join(plan, "; ")
		t.Logf("%.60s… → %s", strings.Join(strings.Fields(q), " "), joined)
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") || strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("query %q plans a %q", q, step)
			}
		}
	}
}

// TestOldUsageIsDeletedByTheKeysOfTheTokensInAChunk pins the plans of
// DeleteTokenUsageBefore: the chunk's bound and its tokens come from the
// tokens' primary key, and each token's old days are searched by
// token_usage's (token_id, day), never a scan of a table that holds a row
// per token and day.
func TestOldUsageIsDeletedByTheKeysOfTheTokensInAChunk(t *testing.T) {
	s := openTest(t, options{})
	for q, args := range map[string][]any{
		pruneUsageBoundSQL: {"a", 1000}, pruneUsageSQL: {"a", "b", "2031-03-04"},
	} {
		joined := strings.Join(explain(t, s, q, args...), "; ")
		t.Logf("%.60s… → %s", q, joined)
		if strings.Contains(joined, "SCAN ") && !strings.Contains(joined, "SCAN tokens USING COVERING INDEX") || strings.Contains(joined, "TEMP B-TREE") {
			t.Errorf("%q plans %q: want searches by primary key", q, joined)
		}
		if q != pruneUsageBoundSQL && !strings.Contains(joined, "SEARCH token_usage USING PRIMARY KEY (token_id=? AND day<?)") {
			t.Errorf("%q plans %q: want each token's old days searched by (token_id, day)", q, joined)
		}
	}
}

// TestExpiredFederationTokensAreFoundByTheirIndex pins the plan of
// DeleteExpiredFederatedTokens: the expired federation tokens come from
// the partial index tokens_fed_expiry, never a scan of every token.
func TestExpiredFederationTokensAreFoundByTheirIndex(t *testing.T) {
	s := openTest(t, options{})
	joined := strings.Join(explain(t, s, deleteExpiredFedSQL, 1, 1000), "; ")
	t.Logf("%s", joined)
	if strings.Contains(joined, "SCAN ") || !strings.Contains(joined, "USING INDEX tokens_fed_expiry (expires_at<?)") {
		t.Errorf("the deletion of expired federation tokens plans %q: want them searched by tokens_fed_expiry", joined)
	}
}

// TestFoldReadsTheJournalOnceAndFindsTokensByID pins the plan of the usage
// journal's fold: one pass over the journal, each token by its id (never a
// scan of a million-row tokens table), then one sort.
func TestFoldReadsTheJournalOnceAndFindsTokensByID(t *testing.T) {
	s := openTest(t, options{})
	joined := strings.Join(explain(t, s, foldSortSQL, 0, 0), "; ")
	t.Logf("fold order → %s", joined)
	if !strings.Contains(joined, "j USING INTEGER PRIMARY KEY") || !strings.Contains(joined, "SEARCH t USING") || !strings.Contains(joined, "(id=?)") ||
		strings.Contains(joined, "SCAN t") || strings.Contains(joined, "AUTOMATIC") {
		t.Errorf("the fold's read plans %q: want a scan of the journal and each token searched by its id", joined)
	}
}

// explain returns the steps of q's query plan, with args bound.
func explain(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestUnusedTokensAreJudgedInOneWalkOfTheTokensKey pins the plan of the
// unused-token query: tokens walked in id order from the page's first id
// (no sort of all live tokens), each token's last use found by its key.
func TestUnusedTokensAreJudgedInOneWalkOfTheTokensKey(t *testing.T) {
	s := openTest(t, options{})
	joined := strings.Join(explain(t, s, unusedTokensSQL, "", 1, 1, 1000), "; ")
	t.Logf("%s", joined)
	if strings.Contains(joined, "TEMP B-TREE") || strings.Contains(joined, "AUTOMATIC") ||
		!strings.Contains(joined, "SEARCH t USING INDEX sqlite_autoindex_tokens_1 (id>?)") ||
		!strings.Contains(joined, "SEARCH l USING PRIMARY KEY (token_id=?)") {
		t.Errorf("the unused-token query plans %q: want tokens searched by id from the page's start and each last use by its key", joined)
	}
}
