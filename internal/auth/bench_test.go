package auth_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/maypok86/otter/v2"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/token"
)

// Benchmarks of the in-process verification path beside its floor: a bare
// SHA-256 of the same token and a Go map lookup. Compare with
//
//	go test -run '^$' -bench 'Verify|Floor|ParseReject' -benchmem ./internal/auth
//
// The token databases are seeded once into os.TempDir() and reused by
// later runs (1M tokens take a while to seed).

// benchSet is a seeded database and the secrets of its tokens.
type benchSet struct {
	st      *sqlite.Store
	secrets []string
}

var (
	benchMu   sync.Mutex
	benchSets = map[int]*benchSet{}
)

// seededStore returns a store holding n tokens (spread over 100 members),
// seeding it on first use.
func seededStore(b *testing.B, n int) *benchSet {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if s, ok := benchSets[n]; ok {
		return s
	}
	dir := filepath.Join(os.TempDir(), "latchkey-auth-bench", fmt.Sprint(n))
	s, err := openSeeded(dir)
	if err != nil {
		b.Logf("seeding %d tokens into %s (%v)", n, dir, err)
		if s, err = seed(dir, n); err != nil {
			b.Fatal(err)
		}
	}
	benchSets[n] = s
	return s
}

func openSeeded(dir string) (*benchSet, error) {
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "secrets.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var secrets []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		secrets = append(secrets, sc.Text())
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "latchkey.db"))
	if err != nil {
		return nil, err
	}
	return &benchSet{st: st, secrets: secrets}, nil
}

func seed(dir string, n int) (*benchSet, error) {
	ctx := context.Background()
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "latchkey.db"))
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	exp := now.Add(365 * 24 * time.Hour)
	users := make([]string, 100)
	for i := range users {
		u := &store.User{ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", i), Username: fmt.Sprintf("bench%03d", i),
			Role: store.RoleMember, Kind: store.KindPerson, LoginType: "password", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		users[i] = u.ID
	}
	// Tokens go in in digest order, with ids and names rising in the same
	// order, so every index is appended to: 1M tokens seed in seconds.
	secrets := make([]string, n)
	for i := range secrets {
		secret, err := token.Generate("lk", token.Personal)
		if err != nil {
			return nil, err
		}
		secrets[i] = secret
	}
	slices.SortFunc(secrets, func(a, b string) int {
		da, db := token.Hash(a), token.Hash(b)
		return bytes.Compare(da[:], db[:])
	})
	const batch = 10_000
	for start := 0; start < n; start += batch {
		ts := make([]*store.Token, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			d := token.Hash(secrets[i])
			ts = append(ts, &store.Token{
				ID: fmt.Sprintf("01000000-0000-7000-8000-%012d", i), UserID: users[i%len(users)], Kind: store.TokenPersonal,
				Name: fmt.Sprintf("bench-%07d", i), Scopes: []string{"repo", "machine"}, Digest: d[:], Hint: token.Hint(secrets[i]),
				CreatedAt: now, UpdatedAt: now, ExpiresAt: &exp,
			})
		}
		if err := st.CreateTokens(ctx, ts); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets.txt"), []byte(strings.Join(secrets, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600); err != nil {
		return nil, err
	}
	return &benchSet{st: st, secrets: secrets}, nil
}

type fixedPolicy struct{ p store.Policy }

func (f fixedPolicy) Current(context.Context) store.Policy { return f.p }

func benchChecker(src auth.Source, st *sqlite.Store, tracking bool) (*auth.Checker, *auth.Usage) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var u *auth.Usage
	if tracking {
		u = auth.NewUsage(st, time.Hour, logger)
	}
	return auth.NewChecker(src, auth.Options{
		Prefix: "lk", Catalog: scope.DefaultCatalog(), Policy: fixedPolicy{store.Policy{AllowNoExpiry: true}},
		Usage: u, Logger: logger,
	}), u
}

// hotSet is the tokens the cached benchmarks cycle through.
const hotSet = 1000

func BenchmarkVerifyCached(b *testing.B) {
	set := seededStore(b, hotSet)
	for _, tracking := range []bool{true, false} {
		name := map[bool]string{true: "tracking", false: "no-tracking"}[tracking]
		cache := auth.NewCache(set.st, auth.CacheConfig{Size: 100_000, TTL: time.Hour})
		v, _ := benchChecker(cache, set.st, tracking)
		warm(b, v, set.secrets)
		b.Run(name, func(b *testing.B) {
			ctx, req := context.Background(), auth.Request{IP: "127.0.0.1", Agent: "bench"}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := v.Verify(ctx, set.secrets[i%len(set.secrets)], req); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(name+"-parallel", func(b *testing.B) {
			ctx, req := context.Background(), auth.Request{IP: "127.0.0.1", Agent: "bench"}
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(hotSet / 4))
				for pb.Next() {
					if _, err := v.Verify(ctx, set.secrets[i%len(set.secrets)], req); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

func warm(b *testing.B, v auth.Verifier, secrets []string) {
	for _, s := range secrets {
		if _, err := v.Verify(context.Background(), s, auth.Request{IP: "127.0.0.1", Agent: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloor is what the cached path is measured against: SHA-256 of
// the same tokens and a lookup in a Go map keyed by the digest.
func BenchmarkFloor(b *testing.B) {
	set := seededStore(b, hotSet)
	m := make(map[[32]byte]*store.Token, len(set.secrets))
	for _, s := range set.secrets {
		m[sha256.Sum256([]byte(s))] = &store.Token{}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if m[token.Hash(set.secrets[i%len(set.secrets)])] == nil {
				b.Fatal("floor: token missing")
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(hotSet / 4))
			for pb.Next() {
				if m[token.Hash(set.secrets[i%len(set.secrets)])] == nil {
					b.Error("floor: token missing")
					return
				}
				i++
			}
		})
	})
}

func BenchmarkVerifyUncached(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(map[int]string{1_000: "1k", 1_000_000: "1M"}[n], func(b *testing.B) {
			verifyUncached(b, seededStore(b, n), context.Background())
		})
	}
}

// verifyUncached verifies set's tokens in random order without a cache,
// under ctx.
func verifyUncached(b *testing.B, set *benchSet, ctx context.Context) {
	v, _ := benchChecker(set.st, set.st, true)
	order := rand.Perm(len(set.secrets))
	req := auth.Request{IP: "127.0.0.1", Agent: "bench"}
	b.ReportAllocs()
	defer reportCPU(b)()
	i := 0
	for b.Loop() {
		if _, err := v.Verify(ctx, set.secrets[order[i%len(order)]], req); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkParseReject is a mistyped token: refused by its checksum before
// any lookup.
func BenchmarkParseReject(b *testing.B) {
	secret, err := token.Generate("lk", token.Personal)
	if err != nil {
		b.Fatal(err)
	}
	bad := secret[:len(secret)-1] + map[bool]string{true: "0", false: "1"}[secret[len(secret)-1] != '0']
	v, _ := benchChecker(auth.NewCache(nil, auth.CacheConfig{Size: 10}), nil, false)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, bad, auth.Request{}); err == nil {
			b.Fatal("mistyped token verified")
		}
	}
}

// cacheKeys is the access pattern of verification: digests of distinct
// tokens, all present, read far more often than written.
func cacheKeys(n int) []token.Digest {
	ks := make([]token.Digest, n)
	for i := range ks {
		ks[i] = token.Hash(fmt.Sprintf("lk_pat_%030d", i))
	}
	return ks
}

type benchEntry struct{ id int }

// cacheBenchSizes are the numbers of distinct tokens in use.
var cacheBenchSizes = []int{1_000, 10_000, 100_000}

func BenchmarkCacheOtter(b *testing.B) {
	for _, n := range cacheBenchSizes {
		c := otter.Must(&otter.Options[token.Digest, *benchEntry]{MaximumSize: 2 * n})
		ks := cacheKeys(n)
		for i, k := range ks {
			c.Set(k, &benchEntry{i})
		}
		benchCache(b, fmt.Sprint(n), ks, func(k token.Digest) bool { _, ok := c.GetIfPresent(k); return ok })
	}
}

func BenchmarkCacheLRU(b *testing.B) {
	for _, n := range cacheBenchSizes {
		c, err := lru.New[token.Digest, *benchEntry](2 * n)
		if err != nil {
			b.Fatal(err)
		}
		ks := cacheKeys(n)
		for i, k := range ks {
			c.Add(k, &benchEntry{i})
		}
		benchCache(b, fmt.Sprint(n), ks, func(k token.Digest) bool { _, ok := c.Get(k); return ok })
	}
}

// benchCache reads keys in a shuffled order, one goroutine and two.
func benchCache(b *testing.B, name string, ks []token.Digest, get func(token.Digest) bool) {
	order := rand.Perm(len(ks))
	b.Run(name+"/serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if !get(ks[order[i%len(order)]]) {
				b.Fatal("miss")
			}
			i++
		}
	})
	b.Run(name+"/parallel", func(b *testing.B) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(int64(len(ks) / 2)))
			for pb.Next() {
				if !get(ks[order[i%len(order)]]) {
					b.Error("miss")
					return
				}
				i++
			}
		})
	})
}
