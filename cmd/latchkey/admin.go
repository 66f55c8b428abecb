package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// newAdminCmd groups the operator's commands that work on the database
// directly, with no server and no login: for when nobody can log in.
func newAdminCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Operator commands that work on the database directly",
		Long: `Operator commands that open the database directly, like "latchkey migrate":
they need the server's --data-dir or --database-url, not a login.`,
	}
	cmd.AddCommand(newResetPasswordCmd())
	return cmd
}

func newResetPasswordCmd() *cobra.Command {
	var dataDir, dbURL string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "reset-password USER",
		Short: "Set a new password for a user, on the database directly",
		Long: `Set a new password for a person (by user name or id), opening the database
directly: for the owner who lost the password printed on first start, or
anyone locked out. Without --password-stdin a random password is generated
and printed once. The reset is recorded in the audit log.`,
		Example: `  latchkey admin reset-password admin --data-dir ./latchkey-data
  printf '%s\n' "$NEW_PASSWORD" | latchkey admin reset-password alice --password-stdin --database-url postgres://latchkey@db/latchkey`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if v, ok := lookupEnv(cmd, "data-dir"); ok {
				dataDir = v
			}
			if v, ok := lookupEnv(cmd, "database-url"); ok {
				dbURL = v
			}
			password := ""
			if fromStdin {
				a := newApp(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
				var err error
				if password, err = a.stdinSecret("new password"); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			st, err := openStoreDirect(ctx, dataDir, dbURL)
			if err != nil {
				return err
			}
			defer st.Close()
			// The running servers must drop the sessions this ends from
			// their caches at once, not when the entries expire.
			announce := server.NewAnnouncer(st)
			svc := service.New(st, scope.DefaultCatalog(), service.Config{}, announce, nil, nil)
			pw, err := svc.Users.ResetPassword(ctx, args[0], password)
			switch {
			case errors.Is(err, service.ErrNotFound):
				return fail(exitNotFound, err)
			case errors.Is(err, service.ErrInvalid):
				return fail(exitUsage, err)
			case err != nil:
				return fail(exitServer, err)
			}
			if err := announce.Err(); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "latchkey: warning: the sessions are ended in the database, but %s; servers that cached one accept it until their --cache-ttl passes\n", oneLine(err.Error()))
			}
			out := cmd.OutOrStdout()
			if fromStdin {
				fmt.Fprintf(out, "Set a new password for %s.\n", args[0])
				return nil
			}
			fmt.Fprintf(out, "New password for %s: %s\n(shown only this once; change it after logging in)\n", args[0], pw)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./latchkey-data", "directory of the embedded SQLite database ($LATCHKEY_DATA_DIR)")
	cmd.Flags().StringVar(&dbURL, "database-url", "", "PostgreSQL URL ($LATCHKEY_DATABASE_URL)")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the new password from standard input instead of generating one")
	return cmd
}

// openStoreDirect opens the server's database as `latchkey serve` would,
// refusing to create an SQLite database that is not there.
func openStoreDirect(ctx context.Context, dataDir, dbURL string) (store.Store, error) {
	if dbURL != "" {
		st, err := postgres.Open(ctx, dbURL)
		if err != nil {
			return nil, fail(exitServer, err)
		}
		return st, nil
	}
	path := filepath.Join(dataDir, "latchkey.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fail(exitNotFound, fmt.Errorf("no database at %s: pass the server's --data-dir (or --database-url)", path))
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fail(exitServer, err)
	}
	return st, nil
}
