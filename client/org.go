package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// GetPolicy returns the token policy.
func (c *Client) GetPolicy(ctx context.Context) (*Policy, error) {
	var out Policy
	if err := c.get(ctx, "/api/v1/policy", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PolicyUpdate is a whole new token policy: PUT replaces every field, so
// start from GetPolicy's answer to change only some.
type PolicyUpdate struct {
	DefaultLifetime string `json:"default_lifetime"`
	MaxLifetime     string `json:"max_lifetime"`
	AllowNoExpiry   bool   `json:"allow_no_expiry"`
	Creation        string `json:"creation"`
	RevokeUnusedFor string `json:"revoke_unused_for"`
}

// Update returns the policy's settable fields, to modify and pass to
// SetPolicy.
func (p Policy) Update() PolicyUpdate {
	return PolicyUpdate{DefaultLifetime: p.DefaultLifetime, MaxLifetime: p.MaxLifetime, AllowNoExpiry: p.AllowNoExpiry,
		Creation: p.Creation, RevokeUnusedFor: p.RevokeUnusedFor}
}

// SetPolicy replaces the token policy (admins) and returns it as stored.
func (c *Client) SetPolicy(ctx context.Context, p PolicyUpdate) (*Policy, error) {
	var out Policy
	if err := c.send(ctx, http.MethodPut, "/api/v1/policy", p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Scopes returns the scope catalog. It needs no credential.
func (c *Client) Scopes(ctx context.Context) ([]Scope, error) {
	var out struct {
		Items []Scope `json:"items"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/scopes"}, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// AuditOptions filters the audit log.
type AuditOptions struct {
	ActorID  string    // events by this user id
	TargetID string    // events about this token, user or session id
	Action   string    // an exact action, or a prefix ending in ".", e.g. "token."
	Since    time.Time // zero = no lower bound
	Until    time.Time // zero = no upper bound
	Cursor   string
	Limit    int
}

func (o AuditOptions) query() url.Values {
	q := url.Values{}
	set(q, "actor_id", o.ActorID)
	set(q, "target_id", o.TargetID)
	set(q, "action", o.Action)
	if !o.Since.IsZero() {
		q.Set("since", o.Since.UTC().Format(time.RFC3339Nano))
	}
	if !o.Until.IsZero() {
		q.Set("until", o.Until.UTC().Format(time.RFC3339Nano))
	}
	set(q, "cursor", o.Cursor)
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

// ListAudit returns one page of audit events, newest first (admins).
func (c *Client) ListAudit(ctx context.Context, opts AuditOptions) (*Page[AuditEvent], error) {
	var out Page[AuditEvent]
	if err := c.get(ctx, "/api/v1/audit", opts.query(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuditEvents iterates over every audit event matching opts, newest first.
func (c *Client) AuditEvents(ctx context.Context, opts AuditOptions) iter.Seq2[AuditEvent, error] {
	return all(ctx, opts.Cursor, func(ctx context.Context, cursor string) (*Page[AuditEvent], error) {
		o := opts
		o.Cursor = cursor
		return c.ListAudit(ctx, o)
	})
}

// ExportAudit streams every audit event matching opts (Cursor and Limit are
// ignored), newest first, from GET /api/v1/audit/export: one request however
// long the log. The client's HTTP timeout bounds the whole export; give a
// long log WithHTTPClient a client without one.
func (c *Client) ExportAudit(ctx context.Context, opts AuditOptions) iter.Seq2[AuditEvent, error] {
	return func(yield func(AuditEvent, error) bool) {
		opts.Cursor, opts.Limit = "", 0
		resp, err := c.open(ctx, request{method: http.MethodGet, path: "/api/v1/audit/export", query: opts.query(), auth: true})
		if err != nil {
			yield(AuditEvent{}, err)
			return
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		for {
			line, err := readLine(r, maxAuditEvent)
			if errors.Is(err, io.EOF) && len(line) == 0 {
				return
			}
			if err != nil && !errors.Is(err, io.EOF) {
				yield(AuditEvent{}, fmt.Errorf("read audit export: %w", err))
				return
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var e AuditEvent
			if err := json.Unmarshal(line, &e); err != nil {
				yield(AuditEvent{}, fmt.Errorf("read audit export: %w", err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// maxAuditEvent bounds one line of the audit export. The export streams
// outside the bound of other answers; an event is a few kilobytes at most,
// so a longer line is refused rather than buffered without end.
const maxAuditEvent = 1 << 20

// readLine reads one line of r, without its end, refusing one longer than
// max. At the end of the stream it returns what is left with io.EOF.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 { // +1: the line's own '\n'
			return nil, fmt.Errorf("an audit event in the export is too large (over %d bytes); the server's answer is not an audit export", max)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return line, err
		}
	}
}
