package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

func newUsersCmd(a *app) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:     "users",
		Aliases: []string{"user"},
		Short:   "Manage people's accounts (admins)",
		Long: `Manage accounts (admins): list, create, change role or password, suspend
and delete. Suspending or deleting a user stops all of their tokens and
sessions at once. Users are named by user name or id.`,
		Example: `  latchkey users list
  latchkey users create alice --role admin
  latchkey users suspend bob`,
	})
	cmd.AddCommand(newUsersListCmd(a, client.KindPerson), newUsersShowCmd(a), newUsersCreateCmd(a), newUsersUpdateCmd(a),
		newUsersSuspendCmd(a, true), newUsersSuspendCmd(a, false), newUsersDeleteCmd(a, "user"))
	return cmd
}

func newUsersListCmd(a *app, kind string) *cobra.Command {
	what := "people's accounts"
	if kind == client.KindService {
		what = "service accounts"
	}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List " + what,
		Example: "  latchkey users list\n  latchkey users list --all -o json",
		Args:    cobra.NoArgs,
	}
	all := false
	if kind == client.KindPerson {
		cmd.Flags().BoolVar(&all, "all", false, "include service accounts")
	} else {
		cmd.Example = "  latchkey service-accounts list"
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		k := kind
		if all {
			k = ""
		}
		return a.listUsers(k)
	}
	return cmd
}

func (a *app) listUsers(kind string) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	users, err := client.Collect(cl.Users(a.ctx(), client.ListUsersOptions{Kind: kind, Limit: 500}))
	if err != nil {
		return err
	}
	if users == nil {
		users = []client.User{}
	}
	if ok, err := a.structured(users); ok {
		return err
	}
	t := a.table("USERNAME", "ID", "ROLE", "KIND", "STATUS", "CREATED")
	for _, u := range users {
		t.row(u.Username, u.ID, u.Role, u.Kind, userStatus(u), humanTime(u.CreatedAt, a.now()))
	}
	return t.flush()
}

func userStatus(u client.User) string {
	if u.Suspended {
		return "suspended"
	}
	return "active"
}

func newUsersShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "show USER",
		Aliases:           []string{"get"},
		Short:             "Show a user",
		Example:           "  latchkey users show alice",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeUsers(""),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			u, err := a.findUser(cl, args[0])
			if err != nil {
				return err
			}
			return a.printUser(u)
		},
	}
}

func (a *app) printUser(u *client.User) error {
	if ok, err := a.structured(u); ok {
		return err
	}
	return a.fields([][2]string{
		{"Username", u.Username}, {"ID", u.ID}, {"Role", u.Role}, {"Kind", u.Kind},
		{"Email", u.Email}, {"Status", userStatus(*u)}, {"Login", u.LoginType}, {"Created", a.whenStamp(&u.CreatedAt, "")},
	})
}

func newUsersCreateCmd(a *app) *cobra.Command {
	var role, email string
	var pwStdin bool
	cmd := &cobra.Command{
		Use:   "create USERNAME [flags]",
		Short: "Create a person's account",
		Long: `Create an account for a person, who logs in with a password. The password
is asked for on the terminal (twice, not echoed), or read from standard
input with --password-stdin.`,
		Example: `  latchkey users create alice --role admin --email alice@example.com
  printf '%s\n' "$PASSWORD" | latchkey users create ci-operator --password-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRole(role); err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			pw, err := a.newPassword(pwStdin)
			if err != nil {
				return err
			}
			u, err := cl.CreateUser(a.ctx(), client.CreateUserRequest{Username: args[0], Password: pw, Role: role, Kind: client.KindPerson, Email: email})
			if err != nil {
				return err
			}
			if ok, err := a.structured(u); ok {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Created user %s (%s, id %s).\n", terminalText(u.Username), terminalText(u.Role), terminalText(u.ID))
			return err
		},
	}
	cmd.Flags().StringVar(&role, "role", client.RoleMember, "`ROLE`: owner, admin or member")
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().StringVar(&email, "email", "", "`ADDRESS` that expiry reminders and leak notices go to")
	return cmd
}

// checkRole refuses a role the server would refuse, before asking for a
// password.
func checkRole(role string) error {
	switch role {
	case client.RoleOwner, client.RoleAdmin, client.RoleMember:
		return nil
	}
	return usageError("--role %q is not a role: use owner, admin or member", role)
}

// newPassword reads a new password: from standard input with
// --password-stdin, else twice from the terminal.
func (a *app) newPassword(fromStdin bool) (string, error) {
	if fromStdin {
		return a.stdinSecret("password")
	}
	fd, ok := a.terminal()
	if !ok {
		return "", usageError("standard input is not a terminal to ask for the password: pipe it with --password-stdin")
	}
	pw, err := a.askSecret(fd, "New password: ")
	if err != nil {
		return "", err
	}
	again, err := a.askSecret(fd, "Repeat it: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", usageError("the passwords do not match; nothing was changed")
	}
	return pw, nil
}

func newUsersUpdateCmd(a *app) *cobra.Command {
	var role, email string
	var pwStdin, password bool
	cmd := &cobra.Command{
		Use:   "update USER [flags]",
		Short: "Change a user's role, password or email",
		Example: `  latchkey users update alice --role admin
  latchkey users update alice --password
  latchkey users update alice --email alice@example.com
  latchkey users update alice --email ''`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeUsers(""),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req client.UpdateUserRequest
			if cmd.Flags().Changed("role") {
				if err := checkRole(role); err != nil {
					return err
				}
				req.Role = &role
			}
			if password || pwStdin {
				pw, err := a.newPassword(pwStdin)
				if err != nil {
					return err
				}
				req.Password = &pw
			}
			if cmd.Flags().Changed("email") {
				req.Email = &email
			}
			if req.Role == nil && req.Password == nil && req.Email == nil {
				return usageError("nothing to change: give --role, --password or --email")
			}
			return a.updateUser(args[0], req, "Updated")
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "new `ROLE`: owner, admin or member")
	cmd.Flags().BoolVar(&password, "password", false, "set a new password, asked for on the terminal")
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "set a new password, read from standard input")
	cmd.Flags().StringVar(&email, "email", "", "new `ADDRESS` for expiry reminders and leak notices ('' removes it)")
	return cmd
}

func (a *app) updateUser(ref string, req client.UpdateUserRequest, verb string) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	u, err := cl.UpdateUser(a.ctx(), ref, req)
	if errors.Is(err, client.ErrNotFound) {
		return fail(exitNotFound, fmt.Errorf("no user %q; `latchkey users list` shows them", ref))
	}
	if err != nil {
		return err
	}
	if ok, err := a.structured(u); ok {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s %s (%s, %s).\n", verb, terminalText(u.Username), terminalText(u.Role), userStatus(*u))
	return err
}

func newUsersSuspendCmd(a *app, suspend bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "suspend USER",
		Short:             "Suspend a user: their tokens and sessions stop working at once",
		Example:           "  latchkey users suspend bob",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeUsers(""),
	}
	verb := "Suspended"
	if !suspend {
		cmd.Use, cmd.Short, cmd.Example = "unsuspend USER", "Lift a suspension: the user's tokens work again", "  latchkey users unsuspend bob"
		verb = "Unsuspended"
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return a.updateUser(args[0], client.UpdateUserRequest{Suspended: &suspend}, verb)
	}
	return cmd
}

func newUsersDeleteCmd(a *app, what string) *cobra.Command {
	var yes bool
	kind := ""
	if what == "service account" {
		kind = client.KindService
	}
	cmd := &cobra.Command{
		Use:               "delete NAME",
		Aliases:           []string{"rm"},
		Short:             "Delete a " + what + "; all of its tokens stop working at once",
		Example:           "  latchkey users delete bob\n  latchkey users delete bob --yes",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeUsers(kind),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			u, err := a.findUser(cl, args[0])
			if err != nil {
				return err
			}
			if kind == client.KindService && u.Kind != client.KindService {
				return usageError("%s is a person, not a service account; use `latchkey users delete %s`", u.Username, u.Username)
			}
			if err := a.confirm(fmt.Sprintf("Delete %s %s and revoke all of its tokens?", what, u.Username), yes); err != nil {
				return err
			}
			if err := cl.DeleteUser(a.ctx(), u.ID); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Deleted %s %s.\n", what, terminalText(u.Username))
			return err
		},
	}
	if kind == client.KindService {
		cmd.Example = "  latchkey service-accounts delete release-bot --yes"
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
