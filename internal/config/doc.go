// Package config declares every option of `latchkey serve` once — its flag,
// its LATCHKEY_* environment variable, its key in the --config YAML file, its
// default and its help text — and reads the YAML file's structured sections
// (scope catalog, route rules, policy, upstreams).
//
// Precedence: a flag given on the command line, then the environment, then
// the config file, then the default. Secrets may come from a file
// (--admin-password-file).
package config
