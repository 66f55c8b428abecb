package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/token"
)

// seedUsers is how many members own the seeded tokens (round-robin).
const seedUsers = 100

// seedScopes lets a seeded token call every benchmarked endpoint.
var seedScopes = []string{"repo", "machine", "tokens", "introspect"}

// dataset is a seeded database and the secrets of its tokens.
type dataset struct {
	dataDir     string // SQLite: the server's --data-dir
	databaseURL string // PostgreSQL: the server's --database-url (own schema)
	secrets     []string
	digests     map[token.Digest]struct{}
	seedTime    time.Duration
	cleanup     func()
}

// seed creates n tokens in a fresh SQLite data directory under dir, or in a
// fresh schema of the PostgreSQL database at databaseURL, with batched
// store writes. Secrets are kept in memory only (and in the token files the
// load tool reads), in random order.
func seed(ctx context.Context, dir, databaseURL string, n int) (*dataset, error) {
	start := time.Now()
	ds := &dataset{cleanup: func() {}}
	var st store.Store
	var err error
	if databaseURL == "" {
		ds.dataDir = filepath.Join(dir, "data")
		if err := os.MkdirAll(ds.dataDir, 0o700); err != nil {
			return nil, err
		}
		st, err = sqlite.Open(ctx, filepath.Join(ds.dataDir, "latchkey.db"))
	} else {
		ds.databaseURL, ds.cleanup, err = freshSchema(ctx, databaseURL)
		if err == nil {
			st, err = postgres.Open(ctx, ds.databaseURL)
		}
	}
	if err != nil {
		ds.cleanup()
		return nil, fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	if err := seedTokens(ctx, st, ds, n); err != nil {
		ds.cleanup()
		return nil, err
	}
	ds.seedTime = time.Since(start)
	return ds, nil
}

func seedTokens(ctx context.Context, st store.Store, ds *dataset, n int) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	exp := now.Add(365 * 24 * time.Hour)
	users := make([]string, seedUsers)
	for i := range users {
		u := &store.User{ID: newID(), Username: fmt.Sprintf("bench%03d", i), Role: store.RoleMember,
			Kind: store.KindPerson, LoginType: "password", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		users[i] = u.ID
	}
	ds.secrets = make([]string, n)
	ds.digests = make(map[token.Digest]struct{}, n)
	type pending struct {
		secret string
		digest token.Digest
	}
	all := make([]pending, n)
	for i := range all {
		secret, err := token.Generate(token.DefaultPrefix, token.Personal)
		if err != nil {
			return err
		}
		all[i] = pending{secret, token.Hash(secret)}
		ds.secrets[i], ds.digests[all[i].digest] = secret, struct{}{}
	}
	// Inserting in digest order, with ids and names increasing in the same
	// order, appends to every index instead of splitting pages at random:
	// 1M tokens seed in seconds instead of minutes.
	slices.SortFunc(all, func(a, b pending) int { return bytes.Compare(a.digest[:], b.digest[:]) })
	const batch = 10_000
	ts := make([]*store.Token, 0, batch)
	for start := 0; start < n; start += batch {
		ts = ts[:0]
		for i := start; i < min(start+batch, n); i++ {
			p := &all[i]
			ts = append(ts, &store.Token{
				ID: fmt.Sprintf("00000000-0000-7000-8000-%012x", i), UserID: users[i%len(users)], Kind: store.TokenPersonal,
				Name: fmt.Sprintf("seed-%07d", i), Scopes: seedScopes, Digest: p.digest[:], Hint: token.Hint(p.secret),
				CreatedAt: now, UpdatedAt: now, ExpiresAt: &exp,
			})
		}
		if err := st.CreateTokens(ctx, ts); err != nil {
			return fmt.Errorf("seed tokens: %w", err)
		}
	}
	mrand.Shuffle(len(ds.secrets), func(i, j int) { ds.secrets[i], ds.secrets[j] = ds.secrets[j], ds.secrets[i] })
	return nil
}

// newID is a random UUID (version 4 layout), enough for seeded rows.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// freshSchema creates an empty schema lk_bench_<random> in the database at
// dsn and returns dsn with search_path set to it, and a func dropping it.
func freshSchema(ctx context.Context, dsn string) (string, func(), error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "lk_bench_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, withoutPoolParams(dsn))
	if err != nil {
		return "", nil, fmt.Errorf("connect to %s: %w", redactDSN(dsn), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, withoutPoolParams(dsn)); err == nil {
			_, _ = conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
			conn.Close(ctx)
		}
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema, drop, nil
	}
	return dsn + sep + "search_path=" + schema, drop, nil
}

// withoutPoolParams drops pgxpool's own parameters (pool_max_conns, ...)
// from a URL-form DSN, which a single connection would send to the server
// as unknown settings.
func withoutPoolParams(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.RawQuery == "" {
		return dsn
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// redactDSN drops a password from a URL-form DSN for messages.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if j := strings.Index(dsn[i+3:], "@"); j >= 0 {
			cred := dsn[i+3 : i+3+j]
			if k := strings.Index(cred, ":"); k >= 0 {
				return dsn[:i+3] + cred[:k] + ":***" + dsn[i+3+j:]
			}
		}
	}
	return dsn
}

// writeLines writes lines to a file the load tool reads (mode 0600: these
// are live secrets of a throwaway database).
func writeLines(path string, lines []string) error {
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// unknownTokens returns n well-formed tokens (valid checksums) that are in
// no database, and n mistyped ones (checksum broken), interleaved.
func unknownTokens(n int) ([]string, error) {
	out := make([]string, 0, n)
	for i := range n {
		s, err := token.Generate(token.DefaultPrefix, token.Personal)
		if err != nil {
			return nil, err
		}
		if i%2 == 1 {
			last := s[len(s)-1]
			s = s[:len(s)-1] + map[bool]string{true: "0", false: "1"}[last != '0']
		}
		out = append(out, s)
	}
	return out, nil
}
