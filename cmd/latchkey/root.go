package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "latchkey",
		Short: "Personal access tokens done right",
		Long: `Latchkey issues named, scoped, expiring personal access tokens that your
platform's APIs, Git server and CI accept, governed by admin policy.

Run the server with "latchkey serve"; manage tokens with the other commands.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newMigrateCmd(), newVersionCmd())
	return root
}
