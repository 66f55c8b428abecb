package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

func newMigrateCmd() *cobra.Command {
	var dataDir, dbURL string
	cmd := &cobra.Command{
		Use:   "migrate [up|status]",
		Short: "Apply or list database schema migrations",
		Long: `Apply pending schema migrations (the default, "up") or list them ("status").
"latchkey serve" also migrates on start; this command lets operators do it
ahead of a rollout.`,
		Example: `  latchkey migrate --data-dir ./latchkey-data
  latchkey migrate status --database-url postgres://latchkey@db/latchkey`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"up", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if v, ok := lookupEnv(cmd, "data-dir"); ok {
				dataDir = v
			}
			if v, ok := lookupEnv(cmd, "database-url"); ok {
				dbURL = v
			}
			action := "up"
			if len(args) == 1 {
				action = args[0]
			}
			ctx := cmd.Context()
			path := filepath.Join(dataDir, "latchkey.db")
			if dbURL == "" {
				if err := prepareDataDir(action, dataDir, path); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			switch action {
			case "up":
				var applied []string
				var err error
				if dbURL != "" {
					applied, err = postgres.Migrate(ctx, dbURL)
				} else {
					applied, err = sqlite.Migrate(ctx, path)
				}
				if err != nil {
					return err
				}
				if len(applied) == 0 {
					fmt.Fprintln(out, "schema is up to date")
				}
				for _, m := range applied {
					fmt.Fprintln(out, "applied", m)
				}
				return nil
			case "status":
				var st []store.MigrationStatus
				var err error
				if dbURL != "" {
					st, err = postgres.Status(ctx, dbURL)
				} else {
					st, err = sqlite.Status(ctx, path)
				}
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT")
				for _, m := range st {
					state, at := "pending", ""
					if m.Applied {
						state, at = "applied", m.AppliedAt.Format("2006-01-02 15:04:05Z")
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, m.Name, state, at)
				}
				return tw.Flush()
			}
			return &exitError{code: 1, err: fmt.Errorf("unknown migrate action %q: use up or status", action)}
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./latchkey-data", "directory of the embedded SQLite database ($LATCHKEY_DATA_DIR)")
	cmd.Flags().StringVar(&dbURL, "database-url", "", "PostgreSQL URL ($LATCHKEY_DATABASE_URL)")
	return cmd
}

// lookupEnv returns the LATCHKEY_* twin of a flag the user did not set.
func lookupEnv(cmd *cobra.Command, flag string) (string, bool) {
	if cmd.Flags().Changed(flag) {
		return "", false
	}
	return os.LookupEnv(config.EnvName(flag))
}

// prepareDataDir creates the data directory for "up", as serve does, and
// makes "status" of a database that does not exist yet say so plainly.
func prepareDataDir(action, dataDir, path string) error {
	if action == "up" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return &exitError{code: exitConfig, err: fmt.Errorf("create data directory: %w", err)}
		}
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return &exitError{code: exitNotFound, err: fmt.Errorf("no database at %s yet: `latchkey migrate --data-dir %s` (or `latchkey serve`) creates it", path, dataDir)}
	}
	return nil
}
