package service

import (
	"context"

	"github.com/latchkey/latchkey/internal/store"
)

// TxAnnouncer is implemented by an Invalidator that tells the other
// replicas about changes through the store (PostgreSQL's NOTIFY). Called
// with the context of the store transaction that makes a change
// (Audit.inTx), each method sends its announcement in that transaction,
// which the database delivers exactly at the commit, or never. The
// announcement the Invalidator sends after the commit may fail and is
// retried for a while; a process killed meanwhile would otherwise leave
// the other replicas accepting a revoked credential from their caches
// until --cache-ttl. The Invalidator's own call after the commit still
// follows, and still drops this node's entries.
type TxAnnouncer interface {
	AnnounceTokenChanged(ctx context.Context, t *store.Token) error
	AnnounceUserChanged(ctx context.Context, userID string) error
	AnnounceSessionRevoked(ctx context.Context, digest []byte) error
}

// announceTokens announces, in the transaction of ctx, that the tokens
// changed, when inval can (TxAnnouncer); nil tokens are skipped. Its error
// fails the change: it must not commit unannounced.
func announceTokens(ctx context.Context, inval Invalidator, ts ...*store.Token) error {
	a, ok := inval.(TxAnnouncer)
	if !ok {
		return nil
	}
	for _, t := range ts {
		if t == nil {
			continue
		}
		if err := a.AnnounceTokenChanged(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// announceSessions announces, in the transaction of ctx, the end of the
// sessions, when inval can.
func announceSessions(ctx context.Context, inval Invalidator, ss ...*store.Session) error {
	a, ok := inval.(TxAnnouncer)
	if !ok {
		return nil
	}
	for _, x := range ss {
		if err := a.AnnounceSessionRevoked(ctx, x.Digest); err != nil {
			return err
		}
	}
	return nil
}

// announceUser announces, in the transaction of ctx, a change of the
// user, when inval can.
func announceUser(ctx context.Context, inval Invalidator, userID string) error {
	if a, ok := inval.(TxAnnouncer); ok {
		return a.AnnounceUserChanged(ctx, userID)
	}
	return nil
}
