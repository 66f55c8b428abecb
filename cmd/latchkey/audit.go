package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

type auditFlags struct {
	since, until, user, action, target string
	limit                              int
	follow                             bool
	interval                           time.Duration
}

func newAuditCmd(a *app) *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit [flags]",
		Short: "Read the audit log (admins)",
		Long: `Print audit events oldest first, like tail: the --limit most recent ones,
or every one since --since. With -f, keep printing new events as they
happen until interrupted. With -o json, events are printed as JSON lines
(one object per line), ready for export.

--since and --until take a duration back from now (30m, 24h, 7d) or a date
or time (2027-01-01, 2027-01-01T15:04:05Z).`,
		Example: `  latchkey audit
  latchkey audit --since 24h --user alice
  latchkey audit --action token. -f
  latchkey audit --since 2026-01-01 -o json > audit.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.audit(f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "only events since `WHEN`: 24h, 7d, 2027-01-01, or an RFC 3339 time")
	fl.StringVar(&f.until, "until", "", "only events before `WHEN` (same forms as --since)")
	fl.StringVar(&f.user, "user", "", "only events by this `USER` (name or id)")
	fl.StringVar(&f.action, "action", "", "only this `ACTION`, or a prefix ending in \".\", e.g. token.")
	fl.StringVar(&f.target, "target", "", "only events about this token, user or session `ID`")
	fl.IntVar(&f.limit, "limit", 50, "print the `N` most recent events when --since is not given (1-500)")
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep printing new events until interrupted")
	fl.DurationVar(&f.interval, "interval", 2*time.Second, "`DURATION` between -f's requests for new events")
	return cmd
}

func (a *app) audit(f auditFlags) error {
	if f.limit < 1 || f.limit > 500 {
		return usageError("--limit must be between 1 and 500; got %d", f.limit)
	}
	if f.interval < 100*time.Millisecond {
		return usageError("--interval must be at least 100ms; got %s", f.interval)
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	opts := client.AuditOptions{Action: f.action, TargetID: f.target, Limit: f.limit}
	if opts.Since, err = optionalSince("since", f.since, a.now()); err != nil {
		return err
	}
	if opts.Until, err = optionalSince("until", f.until, a.now()); err != nil {
		return err
	}
	if f.user != "" {
		u, err := a.findUser(cl, f.user)
		if err != nil {
			return err
		}
		opts.ActorID = u.ID
	}
	var events []client.AuditEvent
	if opts.Since.IsZero() {
		page, err := cl.ListAudit(a.ctx(), opts)
		if err != nil {
			return err
		}
		events = page.Items
	} else {
		opts.Limit = 500
		if events, err = client.Collect(cl.AuditEvents(a.ctx(), opts)); err != nil {
			return err
		}
	}
	slices.Reverse(events)
	p := &auditPrinter{a: a}
	if err := p.print(events); err != nil {
		return err
	}
	if !f.follow {
		if len(events) == 0 && a.output == outTable {
			fmt.Fprintln(a.stderr, "No audit events match.")
		}
		return nil
	}
	return a.followAudit(cl, opts, events, f.interval, p)
}

func optionalSince(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return parseSince(flag, v, now)
}

// followAudit polls for events newer than the last one seen until the
// command is interrupted, which ends it successfully.
func (a *app) followAudit(cl *client.Client, opts client.AuditOptions, seen []client.AuditEvent, every time.Duration, p *auditPrinter) error {
	var lastID int64
	since := a.now().Add(-time.Minute)
	if n := len(seen); n > 0 {
		lastID, since = seen[n-1].ID, seen[n-1].At
	}
	opts.Until, opts.Limit, opts.Cursor = time.Time{}, 500, ""
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-a.ctx().Done():
			return nil
		case <-tick.C:
		}
		opts.Since = since
		batch, err := client.Collect(cl.AuditEvents(a.ctx(), opts))
		if a.ctx().Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		var fresh []client.AuditEvent
		for _, e := range batch {
			if e.ID > lastID {
				fresh = append(fresh, e)
			}
		}
		slices.Reverse(fresh)
		if err := p.print(fresh); err != nil {
			return err
		}
		if n := len(fresh); n > 0 {
			lastID, since = fresh[n-1].ID, fresh[n-1].At
		}
	}
}

// auditPrinter prints events as they come: fixed-width columns, so that
// batches printed while following line up, or JSON lines.
type auditPrinter struct {
	a      *app
	header bool
}

const auditRow = "%-19s  %-16s  %-20s  %-44s  %s\n"

func (p *auditPrinter) print(events []client.AuditEvent) error {
	a := p.a
	for _, e := range events {
		switch a.output {
		case outJSON:
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, string(b))
			continue
		case outYAML:
			fmt.Fprintln(a.stdout, "---")
			if err := writeYAML(a.stdout, e); err != nil {
				return err
			}
			continue
		}
		if !p.header {
			fmt.Fprintf(a.stdout, auditRow, "TIME", "ACTOR", "ACTION", "TARGET", "DETAILS")
			p.header = true
		}
		actor := orText(e.ActorName, orText(e.ActorID, "system"))
		target := orText(strings.TrimSpace(e.TargetType+" "+e.TargetID), "-")
		fmt.Fprintf(a.stdout, auditRow, e.At.Local().Format("2006-01-02 15:04:05"), terminalText(actor), terminalText(e.Action), terminalText(target), terminalText(details(e)))
	}
	return nil
}

// details is an event's details as sorted key=value pairs, and its IP.
func details(e client.AuditEvent) string {
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		switch v := e.Details[k].(type) {
		case string:
			parts = append(parts, k+"="+v)
		default:
			b, _ := json.Marshal(v)
			parts = append(parts, k+"="+string(b))
		}
	}
	if e.IP != "" {
		parts = append(parts, "ip="+e.IP)
	}
	return strings.Join(parts, " ")
}
