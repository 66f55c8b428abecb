package auth

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// AccountLimiter throttles password guesses at one user name, from however
// many addresses they come: FailureLimiter slows one address, but an
// attacker who spreads guesses over many (a botnet, or the /64s of one
// IPv6 allocation) is never slowed by it. Each user name has a token
// bucket that failed logins drain (burst failures, then one more per
// every); while it is empty, logins for that name are refused before the
// password is checked. One address drains a name's bucket at most once per
// burst×every, the time the bucket takes to refill entirely: a single
// address is FailureLimiter's to slow, and must not be able to hold a
// name throttled on its own, even one that many addresses emptied. (Once
// per every would be as fast as the bucket refills: one address trying
// each minute would then keep an emptied name empty for ever.) It takes
// burst addresses failing together to keep a name throttled.
//
// So that an attacker cannot keep the real user out by failing on purpose
// (NIST SP 800-63B §5.2.2, OWASP ASVS 2.2.1), an address that signed in to
// the name successfully within trust is not throttled by it: the user's
// usual machine gets in while the name is under attack; only new addresses
// wait. The per-address limit still applies to every address.
//
// What is counted is the name as typed (letter case folded), whether or not
// an account has it, so a refusal tells nothing about which names exist,
// and it comes before the password check, so it tells nothing about the
// password. Names are kept only as keyed hashes (a name field often holds
// a password typed in the wrong place), and memory is bounded: a flood of
// made-up names evicts the names with the fewest failures first, never one
// that is being throttled.
type AccountLimiter struct {
	burst      int
	every      time.Duration
	trust      time.Duration
	maxEntries int
	now        func() time.Time
	seed       maphash.Seed

	mu        sync.Mutex
	fails     map[uint64]*nameFailures
	inflight  map[uint64]int            // password checks begun and not settled, per name
	known     map[uint64][]knownAddress // newest last, at most maxKnown
	nextSweep time.Time
}

// nameFailures is one name's budget, and the addresses that drained it
// within the last burst×every (oldest first, at most 2*burst), kept as 16 bytes
// each so a full limiter stays within tens of megabytes.
type nameFailures struct {
	bucket *rate.Limiter
	recent []drain
}

// drain is a keyed hash of an address (AddressKey) and when it drained a
// name's bucket (Unix nanoseconds).
type drain struct{ addr, at uint64 }

// knownAddress is an address (AddressKey) that signed in to a name.
type knownAddress struct {
	key string
	at  time.Time
}

// maxKnown is how many addresses a name remembers: a person's few
// machines and networks.
const maxKnown = 8

// NewAccountLimiter allows burst failed logins per user name, refilled one
// per every; an address that signed in to the name within trust is exempt.
func NewAccountLimiter(burst int, every, trust time.Duration) *AccountLimiter {
	return &AccountLimiter{
		burst: burst, every: every, trust: trust, maxEntries: 100_000, now: time.Now, seed: maphash.MakeSeed(),
		fails: map[uint64]*nameFailures{}, known: map[uint64][]knownAddress{}, inflight: map[uint64]int{},
	}
}

func (l *AccountLimiter) key(username string) uint64 {
	return maphash.String(l.seed, strings.ToLower(username))
}

// Err returns a *RateLimited (Account set) while username has used up its
// failures (the checks in flight counted as spent) and ip has not signed in
// to it recently, else nil.
func (l *AccountLimiter) Err(username, ip string) error {
	if l == nil {
		return nil
	}
	k, now := l.key(username), l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if rl, _ := l.limitedLocked(k, ip, now); rl != nil {
		return rl
	}
	return nil
}

// limitedLocked is Err for the name key k: the refusal, or nil and whether
// ip is an address the name knows (which is never refused or counted).
func (l *AccountLimiter) limitedLocked(k uint64, ip string, now time.Time) (rl *RateLimited, known bool) {
	if l.knownLocked(k, AddressKey(ip), now) {
		return nil, true
	}
	tokens := float64(l.burst)
	if b, ok := l.fails[k]; ok {
		tokens = b.bucket.TokensAt(now)
	}
	if left := tokens - float64(l.inflight[k]); left < 1 {
		return &RateLimited{RetryAfter: time.Duration((1 - left) * float64(l.every)), Account: true}, false
	}
	return nil, false
}

// Begin counts a password check for username from ip as a failure until
// it is settled, and returns a *RateLimited instead when the name has none
// left (Err). end settles it: a failed check is recorded (Fail); any
// other is forgotten (a sign-in is the caller's to record, Succeed).
//
// Checked first and counted after, a burst of guesses from many addresses
// at once would all be checked before the first failure was counted; the
// checks in flight count against the name as failures would. An address
// the name knows is not counted, as it is not throttled.
func (l *AccountLimiter) Begin(username, ip string) (end func(failed bool), err error) {
	if l == nil {
		return func(bool) {}, nil
	}
	k, now := l.key(username), l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	rl, known := l.limitedLocked(k, ip, now)
	switch {
	case rl != nil:
		return nil, rl
	case known:
		return l.settle(username, ip, k, false), nil
	}
	l.inflight[k]++
	return l.settle(username, ip, k, true), nil
}

// settle is Begin's end: counted says the check was counted in flight.
func (l *AccountLimiter) settle(username, ip string, k uint64, counted bool) func(failed bool) {
	return func(failed bool) {
		if counted {
			l.mu.Lock()
			if l.inflight[k]--; l.inflight[k] <= 0 {
				delete(l.inflight, k)
			}
			l.mu.Unlock()
		}
		if failed {
			l.Fail(username, ip)
		}
	}
}

// Fail records one failed login for username from ip.
func (l *AccountLimiter) Fail(username, ip string) {
	if l == nil {
		return
	}
	k, a, now := l.key(username), maphash.String(l.seed, AddressKey(ip)), l.now()
	at := uint64(now.UnixNano())
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.fails[k]
	if !ok {
		if len(l.fails) >= l.maxEntries && !l.sweepLocked(now) {
			return // full of names being throttled: the per-address limit still holds
		}
		b = &nameFailures{bucket: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.fails[k] = b
	}
	hold := uint64(l.every) * uint64(l.burst)
	b.recent = slices.DeleteFunc(b.recent, func(x drain) bool { return at-x.at >= hold })
	if slices.ContainsFunc(b.recent, func(x drain) bool { return x.addr == a }) {
		return // this address already drained the name within burst×every
	}
	if len(b.recent) >= 2*l.burst {
		b.recent = slices.Delete(b.recent, 0, 1)
	}
	b.recent = append(b.recent, drain{addr: a, at: at})
	b.bucket.AllowN(now, 1)
}

// Succeed records that ip signed in to username, exempting it from the
// name's throttling for the trust period.
func (l *AccountLimiter) Succeed(username, ip string) {
	if l == nil {
		return
	}
	k, a, now := l.key(username), AddressKey(ip), l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	addrs, ok := l.known[k]
	if !ok && len(l.known) >= l.maxEntries {
		// Only successful sign-ins get here, so only real accounts: forget
		// the ones whose addresses all expired, or else remember no more.
		for n, as := range l.known {
			if now.Sub(as[len(as)-1].at) >= l.trust {
				delete(l.known, n)
			}
		}
		if len(l.known) >= l.maxEntries {
			return
		}
	}
	addrs = slices.DeleteFunc(addrs, func(x knownAddress) bool { return x.key == a })
	if len(addrs) >= maxKnown {
		addrs = slices.Delete(addrs, 0, len(addrs)-maxKnown+1)
	}
	l.known[k] = append(addrs, knownAddress{key: a, at: now})
}

func (l *AccountLimiter) knownLocked(k uint64, a string, now time.Time) bool {
	for _, x := range l.known[k] {
		if x.key == a && now.Sub(x.at) < l.trust {
			return true
		}
	}
	return false
}

// sweepLocked makes room in a full failure map and reports whether it
// did. It drops, first, the names with at most one failure outstanding
// (what a flood of made-up names leaves), then, if the map is still over
// three quarters full, every name not being throttled now. Names being
// throttled are kept, so flooding cannot reset them. It runs at most once
// a second, since a map that stays full costs a pass over it.
func (l *AccountLimiter) sweepLocked(now time.Time) bool {
	if now.Before(l.nextSweep) {
		return false
	}
	l.nextSweep = now.Add(time.Second)
	for k, b := range l.fails {
		if b.bucket.TokensAt(now) >= float64(l.burst)-1 {
			delete(l.fails, k)
		}
	}
	if len(l.fails) > l.maxEntries*3/4 {
		for k, b := range l.fails {
			if b.bucket.TokensAt(now) >= 1 {
				delete(l.fails, k)
			}
		}
	}
	return len(l.fails) < l.maxEntries
}
