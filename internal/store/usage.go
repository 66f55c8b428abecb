package store

import "time"

// RecentIPsKept is how many distinct client IPs a token remembers in
// Token.RecentIPs.
const RecentIPsKept = 5

// UsageDaysKept is how many UTC days of per-day request counts a token
// keeps, today included: the most that TokenUsage is asked for (GET
// /api/v1/tokens/{id}/usage?days=366). Older days can no longer be read,
// and DeleteTokenUsageBefore removes them, so a platform with a million
// tokens does not keep a million rows a day for ever.
const UsageDaysKept = 366

// UsageCutoff is the first UTC day still kept at now: every day before it
// is past UsageDaysKept.
func UsageCutoff(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d-(UsageDaysKept-1), 0, 0, 0, 0, time.UTC)
}

// MergeRecentIPs merges the IPs of a batch of uses (u.IP and u.IPs, most
// recent first) into a token's stored RecentIPs and returns the new list:
// distinct, without empty strings, at most RecentIPsKept long. When newer is
// true the batch is more recent than what is stored and its IPs go first;
// otherwise (a late flush from another replica) they go after the stored
// ones. Backends call it inside RecordTokenUse so they all agree.
func MergeRecentIPs(stored []string, u TokenUse, newer bool) []string {
	batch := make([]string, 0, len(u.IPs)+1)
	if u.IP != "" {
		batch = append(batch, u.IP)
	}
	batch = append(batch, u.IPs...)
	first, second := batch, stored
	if !newer {
		first, second = stored, batch
	}
	out := make([]string, 0, RecentIPsKept)
	seen := make(map[string]bool, RecentIPsKept)
	for _, list := range [][]string{first, second} {
		for _, ip := range list {
			if len(out) == RecentIPsKept {
				return out
			}
			if ip == "" || seen[ip] {
				continue
			}
			seen[ip] = true
			out = append(out, ip)
		}
	}
	return out
}
