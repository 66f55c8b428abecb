package postgres_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store/postgres"
)

// seededTokens is the size of the table the verification and usage
// benchmarks share: the server's uncached target is set at 1M tokens, and
// at that size the table and its indexes outgrow a default shared_buffers,
// as they do in the server benchmark.
const seededTokens = 1_000_000

// seeded is a schema holding seededTokens tokens, made once per benchmark
// process (seeding takes ~20 s) and dropped by TestMain.
var seeded struct {
	once   sync.Once
	dsn    string // the server's DSN
	schema string
	err    error
}

// TestMain drops the seeded schema, if a benchmark made one.
func TestMain(m *testing.M) {
	code := m.Run()
	if seeded.schema != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if conn, err := pgx.Connect(ctx, seeded.dsn); err == nil {
			_, _ = conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{seeded.schema}.Sanitize()+` CASCADE`)
			_ = conn.Close(ctx)
		}
		cancel()
	}
	os.Exit(code)
}

// seededDSN returns a DSN on the seeded schema (search_path set), seeding
// it on first use. Token i (0 <= i < seededTokens) has the digest
// seededDigest(i); ids and names increase with the digest, as the server
// benchmark seeds them, so every index is built by appending. 100 users own
// the tokens in turn.
func seededDSN(b *testing.B) string {
	b.Helper()
	dsn := os.Getenv(postgres.TestDSNEnv)
	if dsn == "" {
		b.Skipf("set %s to benchmark PostgreSQL", postgres.TestDSNEnv)
	}
	seeded.once.Do(func() {
		seeded.dsn = dsn
		seeded.err = seed(dsn)
	})
	if seeded.err != nil {
		b.Fatalf("seed: %v", seeded.err)
	}
	return withSearchPath(dsn, seeded.schema)
}

func seed(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := make([]byte, 8)
	_, _ = rand.Read(r)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	schema := "lk_test_seed_" + hex.EncodeToString(r)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		return err
	}
	seeded.schema = schema
	s, err := postgres.Open(ctx, withSearchPath(dsn, schema)) // migrates
	if err != nil {
		return err
	}
	_ = s.Close()
	for _, q := range []string{
		`SET search_path = ` + pgx.Identifier{schema}.Sanitize(),
		`INSERT INTO users (id, username, role, kind, login_type, created_at, updated_at)
			SELECT 'user-' || lpad(g::text, 3, '0'), 'bench' || g, 'member', 'person', 'password', now(), now()
			FROM generate_series(0, 99) AS g`,
		fmt.Sprintf(`INSERT INTO tokens (id, user_id, kind, name, scopes, digest, hint, created_at, updated_at, expires_at)
			SELECT '00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'), 'user-' || lpad((n %% 100)::text, 3, '0'),
				'personal', 'seed-' || lpad(n::text, 7, '0'), '{repo,machine,tokens,introspect}', d, 'abcd',
				now(), now(), now() + interval '365 days'
			FROM (SELECT row_number() OVER (ORDER BY d) AS n, d
				FROM (SELECT sha256(int8send(g)) AS d FROM generate_series(0, %d) AS g) AS s) AS o
			ORDER BY n`, seededTokens-1),
		`VACUUM ANALYZE tokens`,
		`VACUUM ANALYZE users`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// seededDigest is the digest of seeded token i.
func seededDigest(i int) []byte {
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], uint64(i))
	d := sha256.Sum256(g[:])
	return d[:]
}

// seededIDs returns the ids of the seeded tokens in an order unrelated to
// the table's, the same in every run.
func seededIDs(b *testing.B, dsn string) []string {
	b.Helper()
	conn, err := pgx.Connect(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(b.Context())
	rows, err := conn.Query(b.Context(), `SELECT id FROM tokens ORDER BY digest`)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	mrand.New(mrand.NewPCG(1, 2)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

// withSearchPath sets the search_path on a DSN of either form.
func withSearchPath(dsn, schema string) string { return withParam(dsn, "search_path", schema) }

// withParam sets a parameter on a DSN of either form.
func withParam(dsn, key, value string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + key + "=" + value
	}
	return dsn + " " + key + "=" + value
}
