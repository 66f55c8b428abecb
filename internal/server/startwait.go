package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/store"
)

// ErrStopped is returned by New when it was told to stop (its context
// ended) while waiting for the database: nothing went wrong, and the
// process exits 0.
var ErrStopped = errors.New("stopped while waiting for the database")

// The waits between attempts to reach a database that is not up: 0.5 s,
// doubling to 10 s, so a database that comes up is found within seconds and
// one that stays down costs a log line every 10 s.
const (
	firstDatabaseRetry = 500 * time.Millisecond
	maxDatabaseRetry   = 10 * time.Second
)

// openPostgresWaiting opens the PostgreSQL store, waiting for a database
// that is not up yet: a fault harness, Kubernetes or systemd may start
// Latchkey before (or while restarting) its database. An error that waiting
// can heal (store.Retryable) is logged, once per attempt, and retried with
// a capped backoff until it connects or ctx ends (ErrStopped); any other
// ends the start at once. While it waits, the listen address answers
// /healthz (200) and /readyz (503, waiting for the database), so a probe
// sees a live process that is not ready rather than a refused connection.
func (a *App) openPostgresWaiting(ctx context.Context) (store.Store, error) {
	dsn := a.Config.DatabaseURL
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("--database-url is not a valid PostgreSQL URL or connection string: %w", err)
	}
	password := cfg.Password
	var probes *waitingProbes
	defer func() { probes.close() }()
	delay := firstDatabaseRetry
	for attempt := 1; ; attempt++ {
		st, err := openPostgres(ctx, dsn)
		if err == nil {
			if attempt > 1 {
				a.Logger.Info("the database is up; starting", "attempts", attempt)
			}
			return st, nil
		}
		if ctx.Err() != nil {
			a.Logger.Info("stopped while waiting for the database")
			return nil, ErrStopped
		}
		if !store.Retryable(err) {
			return nil, fmt.Errorf("%s%s", redact(err.Error(), password), databaseHint(err))
		}
		msg := "cannot reach the database yet; retrying"
		if tooManyClients(err) {
			// The database answered, with a refusal: not a network fault.
			msg = "the database refuses more connections (too many clients: raise max_connections or the role's CONNECTION LIMIT, or lower pool_max_conns on the replicas); retrying"
		}
		a.Logger.Warn(msg,
			"attempt", attempt, "retry_in", delay.String(), "host", cfg.Host, "database", cfg.Database,
			"err", redact(err.Error(), password))
		if probes == nil {
			if probes, err = a.startWaitingProbes(); err != nil {
				return nil, err
			}
		}
		select {
		case <-ctx.Done():
			a.Logger.Info("stopped while waiting for the database")
			return nil, ErrStopped
		case <-time.After(delay):
		}
		delay = min(2*delay, maxDatabaseRetry)
	}
}

// redact removes a password from an error's words. The driver's errors
// name the user, host and database but not the password; this keeps it so
// whatever a future driver says.
func redact(msg, password string) string {
	if password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, password, "xxxxx")
}

// databaseHint says how to fix a database error that waiting cannot.
func databaseHint(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return ""
	}
	switch pe.Code {
	case "28P01", "28000":
		return " (check the user name and password in --database-url, and the server's pg_hba.conf)"
	case "3D000":
		return " (create the database, or fix its name in --database-url)"
	case "25006":
		return " (the database accepts no writes: --database-url leads to a standby, or default_transaction_read_only is on; point it at the primary, e.g. add target_session_attrs=read-write)"
	}
	return ""
}

// waitingProbes answers on the listen address while the database is not
// up: /healthz 200, /readyz and everything else 503.
type waitingProbes struct {
	srv  *http.Server
	done chan struct{}
}

func (a *App) startWaitingProbes() (*waitingProbes, error) {
	ln, err := net.Listen("tcp", a.Config.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", a.Config.Listen, err)
	}
	const words = "waiting for the database: the server starts once it can reach it; try again in a few seconds"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(words + "\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, `{"title":"Service Unavailable","status":503,"detail":%q}`+"\n", words)
	})
	p := &waitingProbes{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(p.done)
		if a.Config.TLSCert != "" {
			_ = p.srv.ServeTLS(ln, a.Config.TLSCert, a.Config.TLSKey)
			return
		}
		_ = p.srv.Serve(ln)
	}()
	a.Logger.Info("answering /healthz and /readyz while waiting for the database", "listen", ln.Addr().String())
	return p, nil
}

// close stops answering and frees the listen address for the server.
func (p *waitingProbes) close() {
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		_ = p.srv.Close()
	}
	<-p.done
}

// tooManyClients reports whether PostgreSQL refused the connection for
// its connection limits (SQLSTATE 53300).
func tooManyClients(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, store.ErrTooManyConnections) || (errors.As(err, &pe) && pe.Code == "53300")
}
