package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters for new hashes. They are stored in each hash (PHC
// string format), so raising them later keeps old hashes verifiable.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	keyLen  uint32
}

// 19 MiB, 2 passes, 1 lane: the OWASP baseline for argon2id.
var defaultArgon = argonParams{memory: 19 * 1024, time: 2, threads: 1, keyLen: 32}

// HashPassword returns an argon2id PHC string for pw.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	p := defaultArgon
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, p.keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the PHC hash, in constant time.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var p argonParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return false
	}
	if p.memory > 1<<20 || p.time > 16 || p.threads == 0 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when a login names no user, so the answer
// takes as long as a wrong password and does not reveal who exists.
var dummyHash, _ = HashPassword("latchkey-dummy-password")

// RandomPassword returns a password for a first owner: 24 base62-ish chars.
func RandomPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// maxConcurrentHashes caps hashGate's slots however many cores there are:
// 8 × 19 MiB is the most memory password checks may hold, and 8 slots
// still check over a hundred passwords a second.
const maxConcurrentHashes = 8

// hashGate bounds how many argon2 computations run at once. Each holds
// 19 MiB for its whole run, and the failure limiters refuse an address
// only after its failures are counted, that is after the passwords were
// checked: a burst of concurrent wrong logins, from one address or many,
// would otherwise hash all at once (200 of them took the process to
// 2.2 GB). More computations than cores finish no sooner, so past the cap
// a request waits its turn, for no longer than it may last.
type hashGate struct{ slots chan struct{} }

func newHashGate(n int) *hashGate {
	return &hashGate{slots: make(chan struct{}, max(1, min(n, maxConcurrentHashes)))}
}

// enter takes a slot, waiting while all are taken; leave gives it back.
// A nil gate has no bound.
func (g *hashGate) enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("wait to check a password: %w", ErrPasswordsBusy)
		}
		return fmt.Errorf("wait to check a password: %w", ctx.Err())
	}
}

// ErrPasswordsBusy means a request waited for its turn at the hash gate
// until its deadline (--request-timeout) passed: the server, not its
// database, was busy, checking the passwords of other logins. Nothing was
// checked or changed. It answers 503 with Retry-After on every surface
// (store.Outage finds it through its Overloaded method), in words of its
// own: the database's ("did not answer in time") would send an operator
// looking at a database that is fine.
var ErrPasswordsBusy error = passwordsBusy{}

type passwordsBusy struct{}

func (passwordsBusy) Error() string {
	return "the server is busy checking other passwords; try again in a few seconds"
}

// Overloaded gives store.Outage the words and the Retry-After seconds.
func (p passwordsBusy) Overloaded() (msg string, retryAfterSeconds int) { return p.Error(), 5 }

func (g *hashGate) leave() {
	if g != nil {
		<-g.slots
	}
}

// hash is HashPassword inside the gate.
func (g *hashGate) hash(ctx context.Context, pw string) (string, error) {
	if err := g.enter(ctx); err != nil {
		return "", err
	}
	defer g.leave()
	return HashPassword(pw)
}

// check is CheckPassword inside the gate.
func (g *hashGate) check(ctx context.Context, hash, pw string) (bool, error) {
	if err := g.enter(ctx); err != nil {
		return false, err
	}
	defer g.leave()
	return CheckPassword(hash, pw), nil
}
