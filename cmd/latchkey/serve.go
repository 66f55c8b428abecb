package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/server"
)

func newServeCmd() *cobra.Command {
	var cfg config.Serve
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Latchkey server",
		Long: `Run the Latchkey server: the REST API, the web console, introspection,
forward-auth and token exchange, on one port.

With no options it keeps its data in an embedded SQLite database under
./latchkey-data, and on first start creates an owner account and prints its
user name and password once. Every flag has a LATCHKEY_* environment twin
and may be set in the --config YAML file by its name.`,
		Example: `  # Run with the embedded database; prints where to log in
  latchkey serve

  # Choose the first owner's credentials
  LATCHKEY_ADMIN_PASSWORD=s3cret-pass latchkey serve --admin-username alice

  # Several replicas on PostgreSQL
  latchkey serve --listen 0.0.0.0:8080 --database-url postgres://latchkey@db/latchkey`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Resolve(cmd.Flags()); err != nil {
				return &exitError{code: 1, err: err}
			}
			logger := newLogger(cfg.LogLevel)
			ctx, stop := stopOnSignal(cmd.Context(), logger, os.Exit)
			defer stop()
			server.ApplyMemoryLimit(cfg, os.Getenv, logger)
			app, err := server.New(ctx, cfg, logger, cmd.OutOrStdout(), version)
			if errors.Is(err, server.ErrStopped) {
				return nil // told to stop while waiting for the database
			}
			if err != nil {
				return err
			}
			if server.AutoMemoryLimitApplies(cfg, os.Getenv) {
				app.FollowCacheWithMemoryLimit()
			}
			return app.Serve(ctx)
		},
	}
	cfg.Bind(cmd.Flags())
	return cmd
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ok, err := a.structured(struct {
				Version string `json:"version"`
			}{version}); ok {
				return err
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "latchkey "+version)
			return err
		},
	}
}
