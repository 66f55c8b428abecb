// Package pgcluster runs a private PostgreSQL 15 cluster in a directory of
// its own, on a free loopback port, for tests and the load harness that
// must stop and restart the database: the shared server others use is never
// touched. It runs initdb and pg_ctl from the Debian packages' directory as
// the postgres user (via runuser) when the caller is root.
package pgcluster
