package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/sts"
)

// keysFlags are the storage and signing options `latchkey keys` shares with
// `latchkey serve`, with the same flags and LATCHKEY_* variables.
type keysFlags struct {
	dataDir, dbURL, secret, secretFile, algorithm string
	lifetime                                      time.Duration
}

func newKeysCmd() *cobra.Command {
	var f keysFlags
	cmd := group(&cobra.Command{
		Use:   "keys",
		Short: "List and rotate the JWT signing keys of token exchange",
		Long: `List and rotate the keys that sign the short-lived JWTs issued by token
exchange (POST /oauth2/token). These commands work on the server's database
directly, like "latchkey migrate": run them where the server's data directory
or database URL and its signing-key secret are available. Running servers
pick up a rotation within a second.

The server also rotates on its own every --key-rotation-interval (30 days by
default). A retired key stops signing but stays in /.well-known/jwks.json
until every JWT it signed has expired.`,
	})
	p := cmd.PersistentFlags()
	p.StringVar(&f.dataDir, "data-dir", "./latchkey-data", "directory of the embedded SQLite database ($LATCHKEY_DATA_DIR)")
	p.StringVar(&f.dbURL, "database-url", "", "PostgreSQL URL ($LATCHKEY_DATABASE_URL)")
	p.StringVar(&f.secret, "signing-key-secret", "", "secret that encrypts the signing keys ($LATCHKEY_SIGNING_KEY_SECRET; default with SQLite: the one generated in the data directory)")
	p.StringVar(&f.secretFile, "signing-key-secret-file", "", "file holding the signing-key secret ($LATCHKEY_SIGNING_KEY_SECRET_FILE)")
	p.StringVar(&f.algorithm, "jwt-algorithm", "ES256", "algorithm of the new key: ES256 or EdDSA ($LATCHKEY_JWT_ALGORITHM)")
	p.DurationVar(&f.lifetime, "jwt-lifetime", 15*time.Minute, "the server's JWT lifetime, which bounds how long a retired key stays published ($LATCHKEY_JWT_LIFETIME)")
	cmd.AddCommand(newKeysListCmd(&f), newKeysRotateCmd(&f))
	return cmd
}

func newKeysListCmd(f *keysFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the signing keys, newest (the one signing) first",
		Example: "  latchkey keys list --data-dir ./latchkey-data\n  latchkey keys list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.resolve(cmd); err != nil {
				return err
			}
			st, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.ListSigningKeys(cmd.Context())
			if err != nil {
				return fail(exitServer, err)
			}
			return printKeys(cmd, keys, f.lifetime+sts.RetentionMargin)
		},
	}
}

func newKeysRotateCmd(f *keysFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate",
		Short: "Create a new signing key and retire the current one",
		Long: `Create a new signing key, which signs every JWT from now on, and retire the
current one: it stays published in the JWKS, so JWTs it signed keep
verifying until they expire, and the server removes it after that.`,
		Example: "  latchkey keys rotate --data-dir ./latchkey-data\n" +
			"  LATCHKEY_SIGNING_KEY_SECRET_FILE=/run/secrets/lk latchkey keys rotate --database-url postgres://latchkey@db/latchkey",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.resolve(cmd); err != nil {
				return err
			}
			st, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			ring, err := f.keyring(cmd, st)
			if err != nil {
				return err
			}
			before, err := ring.Keys(cmd.Context())
			if err != nil {
				return fail(exitServer, err)
			}
			k, err := ring.Rotate(cmd.Context())
			if err != nil {
				return fail(exitServer, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "new signing key %s (%s); running servers sign with it within a second\n", k.ID, k.Algorithm)
			if len(before) > 0 {
				fmt.Fprintf(out, "retired %s: it stays in the JWKS until %s, when every JWT it signed has expired\n",
					before[0].ID, k.CreatedAt.Add(ring.Retention()).Format(time.RFC3339))
			}
			return nil
		},
	}
}

// resolve applies the LATCHKEY_* twins of flags not given and checks them.
func (f *keysFlags) resolve(cmd *cobra.Command) error {
	for name, dst := range map[string]*string{"data-dir": &f.dataDir, "database-url": &f.dbURL, "signing-key-secret": &f.secret,
		"signing-key-secret-file": &f.secretFile, "jwt-algorithm": &f.algorithm} {
		if v, ok := lookupEnv(cmd, name); ok {
			*dst = v
		}
	}
	if v, ok := lookupEnv(cmd, "jwt-lifetime"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fail(exitUsage, fmt.Errorf("$LATCHKEY_JWT_LIFETIME: %w", err))
		}
		f.lifetime = d
	}
	if f.algorithm != sts.ES256 && f.algorithm != sts.EdDSA {
		return fail(exitUsage, fmt.Errorf("--jwt-algorithm must be ES256 or EdDSA, not %q", f.algorithm))
	}
	if f.secretFile != "" && f.secret == "" {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return fail(exitUsage, fmt.Errorf("read --signing-key-secret-file: %w", err))
		}
		f.secret = strings.TrimSpace(string(b))
	}
	return nil
}

// open opens the server's store; with SQLite the database must exist, so a
// mistyped --data-dir is reported rather than creating an empty one.
func (f *keysFlags) open(ctx context.Context) (store.Store, error) {
	if f.dbURL != "" {
		st, err := postgres.Open(ctx, f.dbURL)
		if err != nil {
			return nil, fail(exitServer, err)
		}
		return st, nil
	}
	path := filepath.Join(f.dataDir, "latchkey.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fail(exitUsage, fmt.Errorf("no Latchkey database at %s; point --data-dir at the server's data directory, or --database-url at its PostgreSQL", path))
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fail(exitServer, err)
	}
	return st, nil
}

// keyring opens the keyring with the same secret the server uses.
func (f *keysFlags) keyring(cmd *cobra.Command, st store.Store) (*sts.Keyring, error) {
	dataDir := f.dataDir
	if f.dbURL != "" {
		dataDir = ""
	}
	secret, source, path, err := sts.ResolveSecret(f.secret, dataDir)
	if err != nil {
		return nil, fail(exitUsage, err)
	}
	if source == sts.SecretGenerated {
		fmt.Fprintf(cmd.ErrOrStderr(), "generated the signing-key secret in %s; back it up with the database\n", path)
	}
	ring, err := sts.NewKeyring(st, sts.KeyringOptions{Algorithm: f.algorithm, Secret: secret, JWTLifetime: f.lifetime})
	if err != nil {
		return nil, fail(exitUsage, err)
	}
	return ring, nil
}

// keyView is a key as `keys list -o json` prints it.
type keyView struct {
	KID            string     `json:"kid"`
	Algorithm      string     `json:"algorithm"`
	State          string     `json:"state"` // signing or retired
	CreatedAt      time.Time  `json:"created_at"`
	RetiredAt      *time.Time `json:"retired_at"`
	PublishedUntil *time.Time `json:"published_until"` // when the server prunes it; null while it signs
}

func printKeys(cmd *cobra.Command, keys []*store.SigningKey, retention time.Duration) error {
	views := make([]keyView, 0, len(keys))
	for i, k := range keys {
		v := keyView{KID: k.ID, Algorithm: k.Algorithm, State: "signing", CreatedAt: k.CreatedAt.UTC(), RetiredAt: k.RetiredAt}
		if i > 0 {
			v.State = "retired"
			if k.RetiredAt != nil {
				until := k.RetiredAt.Add(retention).UTC()
				v.PublishedUntil = &until
			}
		}
		views = append(views, v)
	}
	out := cmd.OutOrStdout()
	switch format, _ := cmd.Flags().GetString("output"); format {
	case outJSON:
		return writeJSON(out, views)
	case outYAML:
		return writeYAML(out, views)
	}
	return keysTable(out, views)
}

func keysTable(out io.Writer, views []keyView) error {
	if len(views) == 0 {
		_, err := fmt.Fprintln(out, "no signing keys yet: the server creates the first on start, or run `latchkey keys rotate`")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALGORITHM\tSTATE\tCREATED\tPUBLISHED UNTIL")
	for _, v := range views {
		until := "-"
		if v.PublishedUntil != nil {
			until = v.PublishedUntil.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.KID, v.Algorithm, v.State, v.CreatedAt.Format(time.RFC3339), until)
	}
	return tw.Flush()
}
