package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// exportPage is how many events the export reads from the store at a time.
const exportPage = 500

func (a *API) registerAuditExport() {
	huma.Register(a, huma.Operation{
		OperationID: "export-audit", Method: http.MethodGet, Path: "/api/v1/audit/export", Tags: []string{"Audit"},
		Summary:     "Export the audit log as JSON lines, newest first (admins)",
		Description: "Streams every event matching the filters as application/x-ndjson, one AuditEvent object per line. Takes the same filters as GET /api/v1/audit; it has no pages (no cursor or limit): it streams every matching event. When the server cannot read every event, the stream is cut off without its end (the client sees the body end unexpectedly) rather than ended as if it were complete.",
		Security:    security,
		Responses: map[string]*huma.Response{"200": {
			Description: "One AuditEvent JSON object per line",
			Content:     map[string]*huma.MediaType{"application/x-ndjson": {}},
		}},
	}, a.exportAudit)
}

func (a *API) exportAudit(ctx context.Context, in *auditFilter) (*huma.StreamResponse, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	q := service.AuditQuery{ActorID: in.ActorID, TargetID: in.TargetID, Action: in.Action, Since: in.Since, Until: in.Until, Limit: exportPage}
	// The first page is read before answering, so a refusal or a bad filter
	// is still a proper problem response rather than a broken stream.
	first, next, err := a.d.Services.Audit.List(ctx, actor, q)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", "application/x-ndjson")
		hctx.SetHeader("Content-Disposition", `attachment; filename="latchkey-audit.jsonl"`)
		w := hctx.BodyWriter()
		// Each page is flushed to the client as it is written. The writer
		// may be wrapped (the server's status recorder): a response
		// controller finds the Flush beneath, which a type assertion misses.
		flush := func() {}
		if rw, ok := w.(http.ResponseWriter); ok {
			rc := http.NewResponseController(rw)
			flush = func() { _ = rc.Flush() }
		}
		enc := json.NewEncoder(w)
		page := first
		for {
			if err := writeEvents(enc, page); err != nil {
				return // the client went away
			}
			flush()
			if next == "" {
				return
			}
			q.Cursor = next
			if page, next, err = a.d.Services.Audit.List(ctx, actor, q); err != nil {
				a.d.Logger.ErrorContext(ctx, "export audit", "err", err)
				// The status and the first lines are sent: only a broken
				// stream can still say it is incomplete. Aborting ends the
				// chunked body without its last chunk, so the client's read
				// fails instead of ending like a whole export would.
				panic(http.ErrAbortHandler)
			}
		}
	}}, nil
}

func writeEvents(enc *json.Encoder, events []*store.AuditEvent) error {
	for _, e := range events {
		if err := enc.Encode(auditView(e)); err != nil {
			return err
		}
	}
	return nil
}
