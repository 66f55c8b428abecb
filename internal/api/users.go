package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

type createUserInput struct {
	Body struct {
		Username string `json:"username" maxLength:"64" example:"alice"`
		Password string `json:"password,omitempty" maxLength:"256" doc:"At least 8 characters; people only; needs a login session, never an access token"`
		Role     string `json:"role,omitempty" enum:"owner,admin,member" default:"member"`
		Kind     string `json:"kind,omitempty" enum:"person,service" default:"person" doc:"service accounts cannot log in; they hold admin access tokens"`
		Email    string `json:"email,omitempty" maxLength:"254" example:"alice@example.com" doc:"Where expiry reminders and leak notices about the user's tokens go"`
	}
}

type userOutput struct{ Body User }

type listUsersInput struct {
	Kind   string `query:"kind" enum:"person,service,"`
	Cursor string `query:"cursor" maxLength:"200"`
	Limit  int    `query:"limit" minimum:"0" maximum:"500"`
}

type userPage struct {
	Body struct {
		Items      []User `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
}

type userIDInput struct {
	ID string `path:"id" maxLength:"100" doc:"User id or user name"`
}

type updateUserInput struct {
	ID   string `path:"id" maxLength:"100" doc:"User id or user name"`
	Body struct {
		Role      *string `json:"role,omitempty" enum:"owner,admin,member"`
		Suspended *bool   `json:"suspended,omitempty"`
		Password  *string `json:"password,omitempty" maxLength:"256" doc:"Yours, or another person's (admins; owners for owners): with a login session only, never an access token"`
		Email     *string `json:"email,omitempty" maxLength:"254" doc:"Where notices about the user's tokens go; \"\" removes it. Yours (with a session), or anyone's for admins"`
	}
}

func (a *API) registerUsers() {
	tags := []string{"Users"}
	huma.Register(a, huma.Operation{OperationID: "create-user", Method: http.MethodPost, Path: "/api/v1/users", Tags: tags,
		Summary: "Create a person or service account (admins)", DefaultStatus: http.StatusCreated, Security: security}, a.createUser)
	huma.Register(a, huma.Operation{OperationID: "list-users", Method: http.MethodGet, Path: "/api/v1/users", Tags: tags,
		Summary: "List users (admins)", Security: security}, a.listUsers)
	huma.Register(a, huma.Operation{OperationID: "get-user", Method: http.MethodGet, Path: "/api/v1/users/{id}", Tags: tags,
		Summary: "Show a user (yourself, or anyone for admins)", Security: security}, a.getUser)
	huma.Register(a, huma.Operation{OperationID: "update-user", Method: http.MethodPatch, Path: "/api/v1/users/{id}", Tags: tags,
		Summary: "Change role or suspension (admins), or a password or email", Security: security}, a.updateUser)
	huma.Register(a, huma.Operation{OperationID: "delete-user", Method: http.MethodDelete, Path: "/api/v1/users/{id}", Tags: tags,
		Summary: "Delete a user; all their tokens and sessions stop at once", DefaultStatus: http.StatusNoContent, Security: security}, a.deleteUser)
}

func (a *API) createUser(ctx context.Context, in *createUserInput) (*userOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	u, err := a.d.Services.Users.Create(ctx, actor, service.CreateUserInput{
		Username: in.Body.Username, Password: in.Body.Password, Role: store.Role(in.Body.Role), Kind: store.UserKind(in.Body.Kind),
		Email: in.Body.Email,
	})
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &userOutput{Body: userView(u)}, nil
}

func (a *API) listUsers(ctx context.Context, in *listUsersInput) (*userPage, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	us, next, err := a.d.Services.Users.List(ctx, actor, service.UserQuery{Kind: in.Kind, Cursor: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	out := &userPage{}
	out.Body.Items = make([]User, 0, len(us))
	for _, u := range us {
		out.Body.Items = append(out.Body.Items, userView(u))
	}
	out.Body.NextCursor = next
	return out, nil
}

func (a *API) getUser(ctx context.Context, in *userIDInput) (*userOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	u, err := a.d.Services.Users.Get(ctx, actor, in.ID)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &userOutput{Body: userView(u)}, nil
}

func (a *API) updateUser(ctx context.Context, in *updateUserInput) (*userOutput, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	req := service.UpdateUserInput{Suspended: in.Body.Suspended, Password: in.Body.Password, Email: in.Body.Email}
	if in.Body.Role != nil {
		r := store.Role(*in.Body.Role)
		req.Role = &r
	}
	u, err := a.d.Services.Users.Update(ctx, actor, in.ID, req)
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	return &userOutput{Body: userView(u)}, nil
}

func (a *API) deleteUser(ctx context.Context, in *userIDInput) (*struct{}, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.d.Services.Users.Delete(ctx, actor, in.ID); err != nil {
		return nil, a.problem(ctx, err)
	}
	return nil, nil
}
