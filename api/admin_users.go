package api

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// User is an operator account as admins see it: never its password hash.
type User struct {
	ID          uuid.UUID  `json:"id"`
	Email       string     `json:"email" example:"ada@example.com"`
	Name        string     `json:"name" example:"Ada Lovelace"`
	Active      bool       `json:"active" doc:"false once disabled: the account's tokens stop working at once."`
	Roles       []string   `json:"roles" doc:"Role names, sorted."`
	DisabledAt  *time.Time `json:"disabled_at,omitempty" doc:"When the account was last disabled."`
	DisabledBy  *uuid.UUID `json:"disabled_by,omitempty" doc:"Who disabled it."`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// UserOutput is one account.
type UserOutput struct {
	Body User
}

// UserListOutput is every live account.
type UserListOutput struct {
	Body struct {
		Users []User `json:"users"`
	}
}

// UserIDInput addresses one account.
type UserIDInput struct {
	ID uuid.UUID `path:"id" doc:"The account's ID."`
}

// CreateUserInput creates an account.
type CreateUserInput struct {
	Body struct {
		Email    string   `json:"email" minLength:"3" maxLength:"320" example:"ada@example.com"`
		Name     string   `json:"name,omitempty" maxLength:"200" example:"Ada Lovelace"`
		Password string   `json:"password" minLength:"12" maxLength:"256" doc:"The initial password: 12 to 256 characters."`
		Roles    []string `json:"roles,omitempty" maxItems:"16" example:"[\"qa_operator\"]" doc:"Roles to grant, by name."`
	}
}

// UpdateUserInput changes an account's profile; absent fields stay.
type UpdateUserInput struct {
	ID   uuid.UUID `path:"id"`
	Body struct {
		Email *string `json:"email,omitempty" minLength:"3" maxLength:"320"`
		Name  *string `json:"name,omitempty" maxLength:"200"`
	}
}

// ResetPasswordInput sets a new password.
type ResetPasswordInput struct {
	ID   uuid.UUID `path:"id"`
	Body struct {
		Password string `json:"password" minLength:"12" maxLength:"256" doc:"The new password. Every session of the account must log in again."`
	}
}

// GrantRoleInput grants a role.
type GrantRoleInput struct {
	ID   uuid.UUID `path:"id"`
	Body struct {
		Role string `json:"role" minLength:"1" maxLength:"64" example:"qa_lead"`
	}
}

// RevokeRoleInput revokes a role.
type RevokeRoleInput struct {
	ID   uuid.UUID `path:"id"`
	Role string    `path:"role" maxLength:"64"`
}

// Role is a role and what it grants.
type Role struct {
	Name        string   `json:"name" example:"qa_operator"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions" doc:"Permission names, sorted."`
}

// RoleListOutput is every role.
type RoleListOutput struct {
	Body struct {
		Roles []Role `json:"roles"`
	}
}

// adminUsers serves the account and role endpoints.
type adminUsers struct {
	svc *service.Users
}

func (h *adminUsers) create(ctx context.Context, in *CreateUserInput) (*UserOutput, error) {
	actor := principalFrom(ctx).UserID
	u, err := h.svc.Create(ctx, service.NewUser{Email: in.Body.Email, Name: in.Body.Name, Password: in.Body.Password, Roles: in.Body.Roles}, &actor)
	return userOutput(u, err)
}

func (h *adminUsers) list(ctx context.Context, _ *struct{}) (*UserListOutput, error) {
	users, err := h.svc.List(ctx)
	if err != nil {
		return nil, err
	}
	out := &UserListOutput{}
	out.Body.Users = make([]User, len(users))
	for i := range users {
		out.Body.Users[i] = userFrom(&users[i])
	}
	return out, nil
}

func (h *adminUsers) get(ctx context.Context, in *UserIDInput) (*UserOutput, error) {
	return userOutput(h.svc.Get(ctx, in.ID))
}

func (h *adminUsers) update(ctx context.Context, in *UpdateUserInput) (*UserOutput, error) {
	return userOutput(h.svc.Update(ctx, in.ID, service.UserPatch{Email: in.Body.Email, Name: in.Body.Name}))
}

func (h *adminUsers) disable(ctx context.Context, in *UserIDInput) (*UserOutput, error) {
	return userOutput(h.svc.Disable(ctx, in.ID, principalFrom(ctx).UserID))
}

func (h *adminUsers) enable(ctx context.Context, in *UserIDInput) (*UserOutput, error) {
	return userOutput(h.svc.Enable(ctx, in.ID))
}

func (h *adminUsers) resetPassword(ctx context.Context, in *ResetPasswordInput) (*struct{}, error) {
	return nil, h.svc.ResetPassword(ctx, in.ID, in.Body.Password)
}

func (h *adminUsers) grantRole(ctx context.Context, in *GrantRoleInput) (*UserOutput, error) {
	return userOutput(h.svc.GrantRole(ctx, in.ID, in.Body.Role, principalFrom(ctx).UserID))
}

func (h *adminUsers) revokeRole(ctx context.Context, in *RevokeRoleInput) (*UserOutput, error) {
	return userOutput(h.svc.RevokeRole(ctx, in.ID, in.Role))
}

func (h *adminUsers) roles(ctx context.Context, _ *struct{}) (*RoleListOutput, error) {
	roles, err := h.svc.Roles(ctx)
	if err != nil {
		return nil, err
	}
	out := &RoleListOutput{}
	out.Body.Roles = make([]Role, len(roles))
	for i, r := range roles {
		out.Body.Roles[i] = Role{Name: r.Name, Description: r.Description, Permissions: nonNil(r.Permissions)}
	}
	return out, nil
}

func userOutput(u *store.User, err error) (*UserOutput, error) {
	if err != nil {
		return nil, err
	}
	return &UserOutput{Body: userFrom(u)}, nil
}

// userFrom copies the public fields, so a column added to users (a hash, a
// secret) never reaches a response by accident.
func userFrom(u *store.User) User {
	return User{
		ID: u.ID, Email: u.Email, Name: u.Name, Active: u.Active, Roles: nonNil(u.Roles),
		DisabledAt: u.DisabledAt, DisabledBy: u.DisabledBy, LastLoginAt: u.LastLoginAt,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}
