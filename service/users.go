package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/reviewdata/rd/internal/password"
	"github.com/reviewdata/rd/store"
)

// Password policy: long enough to resist guessing behind the login limits,
// short enough that an Argon2id run on it stays bounded.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// Users manages operator accounts and their roles. Its methods return
// *Error values for everything a client can get wrong; other errors are
// internal.
type Users struct {
	// Store is the database. Required.
	Store *store.Store
	// PasswordParams are the Argon2id parameters of new hashes. Defaults to
	// password.DefaultParams (tests use cheaper ones).
	PasswordParams password.Params
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// NewUser is what creating an account takes.
type NewUser struct {
	Email    string
	Name     string
	Password string
	Roles    []string
}

// UserPatch changes an account's profile; nil fields are left alone.
type UserPatch struct {
	Email *string
	Name  *string
}

var (
	errUserNotFound   = NotFound(CodeNotFound, "no such user")
	errDuplicateEmail = Conflict(CodeDuplicateEmail, "another account has this email")
	errLastAdmin      = Conflict(CodeLastAdmin, "this would leave no active account with the "+PermUserManage+" permission")
)

// Create makes an account with roles, granted by actor (nil when no user is
// acting, as for `rd admin user create`). It returns a 422 *Error
// (VALIDATION_FAILED, WEAK_PASSWORD, UNKNOWN_ROLE) for bad input and a 409
// DUPLICATE_EMAIL *Error when a live account has the email.
func (s *Users) Create(ctx context.Context, in NewUser, actor *uuid.UUID) (*store.User, error) {
	email, err := normaliseEmail(in.Email)
	if err != nil {
		return nil, err
	}
	hash, err := s.hash(in.Password)
	if err != nil {
		return nil, err
	}
	var u *store.User
	err = s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		u = &store.User{Email: email, Name: strings.TrimSpace(in.Name), PasswordHash: hash}
		if err := store.InsertUser(ctx, tx, u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errDuplicateEmail.WithErr(err)
			}
			return userInputError(err)
		}
		for _, role := range in.Roles {
			if err := grant(ctx, tx, u.ID, role, actor); err != nil {
				return err
			}
		}
		u, err = store.GetUser(ctx, tx, u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// List returns every live account, ordered by email.
func (s *Users) List(ctx context.Context) ([]store.User, error) {
	return store.ListUsers(ctx, s.Store.DB)
}

// Get returns the live account id, or a 404 NOT_FOUND *Error.
func (s *Users) Get(ctx context.Context, id uuid.UUID) (*store.User, error) {
	u, err := store.GetUser(ctx, s.Store.DB, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUserNotFound.WithErr(err)
	}
	return u, err
}

// Update applies patch to the live account id. It returns a 404 NOT_FOUND,
// 409 DUPLICATE_EMAIL or 422 VALIDATION_FAILED *Error.
func (s *Users) Update(ctx context.Context, id uuid.UUID, patch UserPatch) (*store.User, error) {
	var u *store.User
	err := s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if u, err = getUser(ctx, tx, id); err != nil {
			return err
		}
		if patch.Email != nil {
			if u.Email, err = normaliseEmail(*patch.Email); err != nil {
				return err
			}
		}
		if patch.Name != nil {
			u.Name = strings.TrimSpace(*patch.Name)
		}
		if err := store.UpdateUserProfile(ctx, tx, u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errDuplicateEmail.WithErr(err)
			}
			return userInputError(err)
		}
		u, err = store.GetUser(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Disable stops the account id at once: its access tokens are refused from
// the next request (the API reads the account on every request) and its
// refresh tokens are revoked. Disabling a disabled account succeeds. It
// returns a 404 NOT_FOUND *Error, or a 409 LAST_ADMIN *Error when id is the
// last active account able to manage users.
func (s *Users) Disable(ctx context.Context, id, actor uuid.UUID) (*store.User, error) {
	return s.change(ctx, id, true, func(ctx context.Context, tx bun.Tx) error {
		now := s.now()
		if err := store.SetUserActive(ctx, tx, id, false, &actor, now); err != nil {
			return err
		}
		_, err := store.RevokeUserRefreshTokens(ctx, tx, id, store.RevokedUserDisabled, now)
		return err
	})
}

// Enable lets the disabled account id log in again. Enabling an active
// account succeeds. It returns a 404 NOT_FOUND *Error.
func (s *Users) Enable(ctx context.Context, id uuid.UUID) (*store.User, error) {
	return s.change(ctx, id, false, func(ctx context.Context, tx bun.Tx) error {
		return store.SetUserActive(ctx, tx, id, true, nil, s.now())
	})
}

// ResetPassword sets the account id's password and revokes its refresh
// tokens, so every session must log in again with the new password. It
// returns a 404 NOT_FOUND or 422 WEAK_PASSWORD *Error.
func (s *Users) ResetPassword(ctx context.Context, id uuid.UUID, newPassword string) error {
	hash, err := s.hash(newPassword)
	if err != nil {
		return err
	}
	_, err = s.change(ctx, id, false, func(ctx context.Context, tx bun.Tx) error {
		now := s.now()
		if err := store.SetUserPassword(ctx, tx, id, hash, now); err != nil {
			return err
		}
		_, err := store.RevokeUserRefreshTokens(ctx, tx, id, store.RevokedPasswordReset, now)
		return err
	})
	return err
}

// GrantRole gives the account id role, on behalf of actor. Granting a role
// the account has succeeds. It returns a 404 NOT_FOUND or 422 UNKNOWN_ROLE
// *Error.
func (s *Users) GrantRole(ctx context.Context, id uuid.UUID, role string, actor uuid.UUID) (*store.User, error) {
	return s.change(ctx, id, false, func(ctx context.Context, tx bun.Tx) error {
		return grant(ctx, tx, id, role, &actor)
	})
}

// RevokeRole takes role from the account id. Revoking a role the account
// lacks succeeds. It returns a 404 NOT_FOUND *Error, or a 409 LAST_ADMIN
// *Error when that would leave nobody able to manage users.
func (s *Users) RevokeRole(ctx context.Context, id uuid.UUID, role string) (*store.User, error) {
	return s.change(ctx, id, true, func(ctx context.Context, tx bun.Tx) error {
		return store.RevokeRole(ctx, tx, id, role)
	})
}

// Roles returns every role with its permissions.
func (s *Users) Roles(ctx context.Context) ([]store.Role, error) {
	return store.ListRoles(ctx, s.Store.DB)
}

// change runs fn on the live account id in a transaction and returns the
// account afterwards. With guardAdmins, changes that could remove the last
// user manager are serialised (an advisory lock, so two admins disabling each
// other at once cannot both succeed) and refused with LAST_ADMIN.
func (s *Users) change(ctx context.Context, id uuid.UUID, guardAdmins bool, fn func(context.Context, bun.Tx) error) (*store.User, error) {
	var u *store.User
	err := s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		managers := 0
		if guardAdmins {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('rd:user-managers'))"); err != nil {
				return err
			}
			var err error
			if managers, err = store.CountActiveUsersWithPermission(ctx, tx, PermUserManage); err != nil {
				return err
			}
		}
		if _, err := getUser(ctx, tx, id); err != nil {
			return err
		}
		if err := fn(ctx, tx); err != nil {
			return err
		}
		if guardAdmins && managers > 0 {
			left, err := store.CountActiveUsersWithPermission(ctx, tx, PermUserManage)
			if err != nil {
				return err
			}
			if left == 0 {
				return errLastAdmin
			}
		}
		var err error
		u, err = store.GetUser(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (s *Users) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Users) hash(pw string) (string, error) {
	if err := checkPassword(pw); err != nil {
		return "", err
	}
	params := s.PasswordParams
	if params == (password.Params{}) {
		params = password.DefaultParams
	}
	return password.HashWithParams(pw, params)
}

func getUser(ctx context.Context, db bun.IDB, id uuid.UUID) (*store.User, error) {
	u, err := store.GetUser(ctx, db, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUserNotFound.WithErr(err)
	}
	return u, err
}

func grant(ctx context.Context, db bun.IDB, id uuid.UUID, role string, actor *uuid.UUID) error {
	err := store.GrantRole(ctx, db, id, role, actor)
	if errors.Is(err, store.ErrInvalid) && store.ConstraintName(err) == "user_roles_role_fkey" {
		return Invalid(CodeUnknownRole, fmt.Sprintf("no role is named %q", role)).
			WithDetails(map[string]any{"role": role}).WithErr(err)
	}
	return err
}

// checkPassword applies the password policy. Its messages never repeat the
// password.
func checkPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen || len(pw) > MaxPasswordLen {
		return Invalid(CodeWeakPassword,
			fmt.Sprintf("a password needs %d to %d characters", MinPasswordLen, MaxPasswordLen))
	}
	if strings.TrimSpace(pw) == "" {
		return Invalid(CodeWeakPassword, "a password cannot be only spaces")
	}
	return nil
}

// normaliseEmail lower-cases and trims an address and checks its shape: one
// "@" with something on either side, no spaces, at most 320 characters.
func normaliseEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(e, " \t\r\n") ||
		strings.Contains(domain, "@") || len(e) > 320 {
		return "", Invalid(CodeValidationFailed, "email must be an address like name@example.com").
			WithDetails(map[string]any{"body.email": []string{"not an email address"}})
	}
	return e, nil
}

// userInputError turns a schema refusal into a 422 naming the constraint;
// anything else passes through as internal.
func userInputError(err error) error {
	if errors.Is(err, store.ErrInvalid) {
		return Invalid(CodeValidationFailed, "the account was refused: "+store.ConstraintName(err)).WithErr(err)
	}
	return err
}
