package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
)

func newJobsCmd(a *app) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:   "jobs",
		Short: "Run the server's background jobs now (admins)",
		Long: `The server runs background jobs on a schedule: cleanup and reminders hourly
(first a minute after start), rotate-keys every --key-rotation-interval.
"latchkey jobs run NAME" runs one at once and shows what it did.`,
		Example: `  latchkey jobs run cleanup
  latchkey jobs run reminders -o json`,
	})
	cmd.AddCommand(&cobra.Command{
		Use:       "run NAME",
		Short:     "Run a background job now: reminders, cleanup or rotate-keys",
		Example:   "  latchkey jobs run cleanup\n  latchkey jobs run rotate-keys -o json",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"reminders", "cleanup", "rotate-keys"},
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			run, err := cl.RunJob(a.ctx(), args[0])
			if err != nil {
				return err
			}
			if ok, err := a.structured(run); ok {
				return err
			}
			rows := [][2]string{{"Job", run.Job}, {"Took", run.FinishedAt.Sub(run.StartedAt).Round(1e6).String()}}
			keys := make([]string, 0, len(run.Result))
			for k := range run.Result {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				rows = append(rows, [2]string{k, fmt.Sprint(run.Result[k])})
			}
			return a.fields(rows)
		},
	})
	return cmd
}
