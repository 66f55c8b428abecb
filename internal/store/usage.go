package store

// RecentIPsKept is how many distinct client IPs a token remembers in
// Token.RecentIPs.
const RecentIPsKept = 5

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
