package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// JobFunc runs one background job now and says what it did, as counts and
// names an admin can read ("revoked_unused_tokens": 3).
type JobFunc func(ctx context.Context) (map[string]any, error)

// ErrJobBusy is returned by a JobFunc when the job is running elsewhere
// (on another replica) at this moment.
var ErrJobBusy = errors.New("job busy")

// Jobs lets admins run a background job at once instead of waiting for its
// schedule. The server registers the jobs; the runs are audited.
type Jobs struct {
	audit *Audit
	now   func() time.Time
	run   map[string]JobFunc
}

// JobRun is what one run of a job did.
type JobRun struct {
	Name       string
	StartedAt  time.Time
	FinishedAt time.Time
	Result     map[string]any
}

// Register makes the job name runnable. Call it before serving.
func (j *Jobs) Register(name string, fn JobFunc) {
	if j.run == nil {
		j.run = map[string]JobFunc{}
	}
	j.run[name] = fn
}

// Names lists the registered jobs, sorted.
func (j *Jobs) Names() []string {
	names := make([]string, 0, len(j.run))
	for n := range j.run {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Run runs the job name now (admins only) and returns what it did.
func (j *Jobs) Run(ctx context.Context, a Actor, name string) (*JobRun, error) {
	if err := a.requireAdmin(); err != nil {
		return nil, err
	}
	fn, ok := j.run[name]
	if !ok {
		return nil, notFound("no job %q; the jobs are %s", name, strings.Join(j.Names(), ", "))
	}
	run := &JobRun{Name: name, StartedAt: j.now().UTC()}
	res, err := fn(ctx)
	run.FinishedAt = j.now().UTC()
	if errors.Is(err, ErrJobBusy) {
		return nil, &Error{Kind: ErrConflict, Msg: fmt.Sprintf("job %q is running on another replica right now; try again in a minute", name)}
	}
	if err != nil {
		return nil, fmt.Errorf("run job %s: %w", name, err)
	}
	run.Result = res
	j.audit.record(ctx, a, "job.run", "job", name, res)
	return run, nil
}
