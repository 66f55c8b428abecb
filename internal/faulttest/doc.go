// Package faulttest holds the tools the fault tests use to break the path
// between Latchkey and its database the way networks and failovers do: a
// TCP proxy whose connections can be reset, or frozen without a word (a
// silently dropped connection, the old primary of a failover that vanished),
// while new connections still reach the database.
package faulttest
