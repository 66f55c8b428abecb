// Package notifytest provides what tests of notifications need to receive
// them for real: a small SMTP server on loopback (STARTTLS, implicit TLS,
// AUTH PLAIN, one recipient refused on demand) with a helper that reads an
// accepted message the way a mail client would, and an HTTP webhook
// receiver that checks each request's signature on its own.
package notifytest
