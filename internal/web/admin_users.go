package web

import (
	"net/http"
	"net/url"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// userRow is an account as the admin pages show it.
type userRow struct {
	ID, Username, Role string
	Email              string
	LoginType          string // password, oidc (single sign-on) or none
	Suspended, Self    bool
	Created            timeText
	Tokens             []tokenRow // a service account's tokens
	Error              string     // why the last action on this row failed
}

// usersData is the users and service-accounts pages.
type usersData struct {
	Users   []userRow
	Next    string
	Create  form
	New     newUserInput
	Roles   []string
	Service bool
}

// newUserInput is what the create form was sent with, to show it again.
type newUserInput struct{ Username, Role, Email string }

var userFields = []string{"username", "password", "role", "email"}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, v *visit) {
	h.renderUsers(w, r, v, http.StatusOK, store.KindPerson, newForm(v.csrf, userFields...).speaking(userWords), newUserInput{Role: string(store.RoleMember)}, "", "")
}

func (h *Handler) listServiceAccounts(w http.ResponseWriter, r *http.Request, v *visit) {
	h.renderUsers(w, r, v, http.StatusOK, store.KindService, newForm(v.csrf, userFields...).speaking(serviceAccountWords), newUserInput{Role: string(store.RoleAdmin)}, "", "")
}

// renderUsers shows the people or the service accounts, with the create
// form's state and, when an action on one row failed, its error.
func (h *Handler) renderUsers(w http.ResponseWriter, r *http.Request, v *visit, status int, kind store.UserKind, f form, in newUserInput, rowID, rowErr string) {
	us, next, err := h.d.Services.Users.List(r.Context(), v.actor, service.UserQuery{Kind: string(kind), Cursor: r.URL.Query().Get("cursor"), Limit: 100})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &usersData{Create: f, New: in, Service: kind == store.KindService,
		Roles: []string{string(store.RoleMember), string(store.RoleAdmin), string(store.RoleOwner)}}
	for _, u := range us {
		row := userRow{ID: u.ID, Username: u.Username, Email: u.Email, Role: string(u.Role), Suspended: u.Suspended, LoginType: u.LoginType,
			Self: u.ID == v.p.User.ID, Created: h.timeText(&u.CreatedAt)}
		if u.ID == rowID {
			row.Error = rowErr
		}
		if d.Service {
			ts, _, err := h.d.Services.Tokens.List(r.Context(), v.actor, service.TokenQuery{UserID: u.ID, Limit: 50})
			if err != nil {
				h.fail(w, r, v, err)
				return
			}
			for _, t := range ts {
				row.Tokens = append(row.Tokens, h.row(r.Context(), t, u.Username))
			}
		}
		d.Users = append(d.Users, row)
	}
	page, title := "admin_users", "Users"
	if d.Service {
		page, title = "admin_service_accounts", "Service accounts"
	}
	if next != "" {
		d.Next = "/admin/" + map[bool]string{false: "users", true: "service-accounts"}[d.Service] + "?cursor=" + url.QueryEscape(next) + "&page=" + nextPage(r)
	}
	h.render(w, r, v, status, page, pagedTitle(title, r), d)
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, v *visit) {
	in := newUserInput{Username: r.PostFormValue("username"), Role: r.PostFormValue("role"), Email: r.PostFormValue("email")}
	_, err := h.d.Services.Users.Create(r.Context(), v.actor, service.CreateUserInput{
		Username: in.Username, Password: r.PostFormValue("password"), Role: store.Role(in.Role), Kind: store.KindPerson,
		Email: in.Email,
	})
	if err == nil {
		seeOther(w, r, "/admin/users?msg=user-created")
		return
	}
	f := newForm(v.csrf, userFields...).speaking(userWords)
	if h.formError(w, r, &f, err) {
		h.renderUsers(w, r, v, statusOf(err), store.KindPerson, f, in, "", "")
	}
}

func (h *Handler) createServiceAccount(w http.ResponseWriter, r *http.Request, v *visit) {
	in := newUserInput{Username: r.PostFormValue("username"), Role: r.PostFormValue("role")}
	u, err := h.d.Services.Users.Create(r.Context(), v.actor, service.CreateUserInput{
		Username: in.Username, Role: store.Role(in.Role), Kind: store.KindService,
	})
	if err == nil {
		seeOther(w, r, "/admin/service-accounts?msg=sa-created#sa-"+u.ID)
		return
	}
	f := newForm(v.csrf, userFields...).speaking(serviceAccountWords)
	if h.formError(w, r, &f, err) {
		h.renderUsers(w, r, v, statusOf(err), store.KindService, f, in, "", "")
	}
}

// userData is one user's page.
type userData struct {
	User  userRow
	Roles []string
	// Form holds the errors of the last change sent from the page; Email
	// and Role are what its fields show: the user's, or what was sent
	// when that change was refused.
	Form        form
	Email, Role string
}

// userPageFields are the fields of one user's page that can show their
// own error.
var userPageFields = []string{"email", "role"}

// showUser is GET /admin/users/{id}: one person, with the forms that change
// them (the users table only lists).
func (h *Handler) showUser(w http.ResponseWriter, r *http.Request, v *visit) {
	h.renderUser(w, r, v, http.StatusOK, r.PathValue("id"), newForm(v.csrf, userPageFields...))
}

// renderUser shows the user id with f's errors; a field of f's form that
// was sent shows what was sent.
func (h *Handler) renderUser(w http.ResponseWriter, r *http.Request, v *visit, status int, id string, f form) {
	u, err := h.d.Services.Users.Get(r.Context(), v.actor, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	row := userRow{ID: u.ID, Username: u.Username, Email: u.Email, Role: string(u.Role), Suspended: u.Suspended,
		Self: u.ID == v.p.User.ID, Created: h.timeText(&u.CreatedAt)}
	d := &userData{User: row, Form: f, Email: u.Email, Role: string(u.Role),
		Roles: []string{string(store.RoleMember), string(store.RoleAdmin), string(store.RoleOwner)}}
	if f.Invalid() {
		if sent, ok := r.PostForm["email"]; ok && len(sent) == 1 {
			d.Email = sent[0]
		}
		if sent, ok := r.PostForm["role"]; ok && len(sent) == 1 {
			d.Role = sent[0]
		}
	}
	h.render(w, r, v, status, "admin_user", u.Username, d)
}

// userAction applies one change to the user in the path and goes back to
// the page it came from, or shows that page with the error on the row.
func (h *Handler) userAction(w http.ResponseWriter, r *http.Request, v *visit, notice string, apply func(id string) error) {
	id := r.PathValue("id")
	back := "/admin/users"
	kind := store.KindPerson
	words := userWords
	from := r.PostFormValue("from")
	switch from {
	case "service-accounts":
		back, kind, words = "/admin/service-accounts", store.KindService, serviceAccountWords
	case "user":
		words = userPageWords
		if notice != "deleted" {
			back = "/admin/users/" + id
		}
	}
	err := apply(id)
	if err == nil {
		seeOther(w, r, back+"?msg="+notice)
		return
	}
	if from == "user" {
		// The page's own forms: an error about the email or the role
		// shows next to that field, anything else above them.
		uf := newForm(v.csrf, userPageFields...).speaking(words)
		if h.formError(w, r, &uf, err) {
			h.renderUser(w, r, v, statusOf(err), id, uf)
		}
		return
	}
	f := form{}.speaking(words)
	if h.formError(w, r, &f, err) {
		h.renderUsers(w, r, v, statusOf(err), kind, newForm(v.csrf, userFields...).speaking(words), newUserInput{Role: string(store.RoleMember)}, id, f.Error)
	}
}

func (h *Handler) changeRole(w http.ResponseWriter, r *http.Request, v *visit) {
	role := store.Role(r.PostFormValue("role"))
	h.userAction(w, r, v, "role", func(id string) error {
		_, err := h.d.Services.Users.Update(r.Context(), v.actor, id, service.UpdateUserInput{Role: &role})
		return err
	})
}

// changeEmail sets (or, when empty, removes) the address the user's
// notices go to.
func (h *Handler) changeEmail(w http.ResponseWriter, r *http.Request, v *visit) {
	email := r.PostFormValue("email")
	h.userAction(w, r, v, "email", func(id string) error {
		_, err := h.d.Services.Users.Update(r.Context(), v.actor, id, service.UpdateUserInput{Email: &email})
		return err
	})
}

func (h *Handler) suspendUser(w http.ResponseWriter, r *http.Request, v *visit) {
	suspend := r.PostFormValue("suspended") != "false"
	notice := "suspended"
	if !suspend {
		notice = "unsuspended"
	}
	h.userAction(w, r, v, notice, func(id string) error {
		_, err := h.d.Services.Users.Update(r.Context(), v.actor, id, service.UpdateUserInput{Suspended: &suspend})
		return err
	})
}

// deleteUser deletes once confirmed; without confirm=yes it asks first.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, v *visit) {
	if r.PostFormValue("confirm") != "yes" {
		u, err := h.d.Services.Users.Get(r.Context(), v.actor, r.PathValue("id"))
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		from := r.PostFormValue("from")
		h.render(w, r, v, http.StatusOK, "confirm", "Delete "+u.Username, &confirmData{
			Heading: "Delete " + u.Username + "?",
			Message: "The account is removed and every token and session it holds stops working at once. This cannot be undone.",
			Action:  "/admin/users/" + u.ID + "/delete", Button: "Delete account", Danger: true,
			Hidden: []hiddenField{{"from", from}}, Cancel: "/admin/" + map[bool]string{true: "service-accounts", false: "users"}[from == "service-accounts"],
		})
		return
	}
	h.userAction(w, r, v, "deleted", func(id string) error {
		return h.d.Services.Users.Delete(r.Context(), v.actor, id)
	})
}
