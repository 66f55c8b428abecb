// Package notify tells people about their tokens: reminders before a token
// expires, a notice when it has expired, and a notice when one of their
// secrets was reported leaked and revoked.
//
// A Notice describes what happened to which token and whose it is; it never
// carries a secret (only the last four characters, the hint). A Notifier
// fans each Notice out to the channels the deployment configured:
//
//   - email over SMTP (smtp:// with STARTTLS whenever the server offers it,
//     or smtps:// for implicit TLS), a plain-text message to the owner's
//     address saying what happened, when, and what to do, with a link to
//     the token's page in the console; owners without an address are
//     skipped;
//   - a webhook: a JSON POST signed with an HMAC-SHA256 of the body in
//     X-Latchkey-Signature, retried twice with backoff on network errors and
//     5xx answers.
//
// Send delivers at once and reports what failed (a *DeliveryError names the
// channels that failed and those that delivered); the expiry job uses it so
// that a notice nobody received can be tried again. Post queues a notice
// for a background worker, for callers (leak reports) that must not wait on
// a mail server; Close drains the queue.
//
// Who gets which notice, and once only, is decided by the caller
// (internal/service); this package only composes and delivers.
package notify
