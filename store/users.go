package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// User is a row of users: an operator of the admin/QA console or the browser
// extension. Rows are soft-deleted; only live rows are returned by the
// functions below.
type User struct {
	bun.BaseModel `bun:"table:users"`

	// ID identifies the user; InsertUser makes a UUIDv7 when it is zero.
	ID uuid.UUID `bun:"id,pk,type:uuid"`
	// Email is the login name, lower-case and trimmed (the table refuses
	// anything else), unique among live users.
	Email string `bun:"email"`
	// Name is the display name; may be empty.
	Name string `bun:"name"`
	// PasswordHash is the Argon2id PHC string. It never leaves the service
	// layer.
	PasswordHash string `bun:"password_hash"`
	// Active is false once the user is disabled.
	Active bool `bun:"active"`
	// DisabledAt and DisabledBy record the last disabling; both nil while
	// the user was never disabled.
	DisabledAt *time.Time `bun:"disabled_at"`
	DisabledBy *uuid.UUID `bun:"disabled_by,type:uuid"`
	// PasswordChangedAt is when the password was last set.
	PasswordChangedAt time.Time `bun:"password_changed_at,nullzero"`
	// LastLoginAt is the last successful login; nil before the first.
	LastLoginAt *time.Time `bun:"last_login_at"`
	// CreatedAt and UpdatedAt are set by the database.
	CreatedAt time.Time `bun:"created_at,nullzero"`
	UpdatedAt time.Time `bun:"updated_at,nullzero"`
	// DeletedAt and DeletedBy mark a soft-deleted user.
	DeletedAt *time.Time `bun:"deleted_at"`
	DeletedBy *uuid.UUID `bun:"deleted_by,type:uuid"`

	// Roles are the names of the user's roles, sorted. Filled by the
	// functions that say so; never written.
	Roles []string `bun:"roles,array,scanonly"`
}

// userRolesColumn adds a user's role names to a select, so one query
// returns everything an admin screen shows.
const userRolesColumn = `COALESCE((SELECT array_agg(ur.role ORDER BY ur.role) FROM user_roles ur WHERE ur.user_id = "user"."id"), '{}') AS roles`

// InsertUser inserts u (Active is forced true) and fills in the ID and the
// times the row got.
//
// It returns an error wrapping ErrConflict when a live user already has the
// email (constraint users_email_live_idx), and ErrInvalid when the email is
// not lower-case and trimmed, or the hash is not an Argon2id PHC string.
func InsertUser(ctx context.Context, db bun.IDB, u *User) error {
	if u.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("store: insert user: %w", err)
		}
		u.ID = id
	}
	u.Active = true
	_, err := db.NewInsert().Model(u).
		Returning("id, email, name, password_hash, active, disabled_at, disabled_by, password_changed_at, last_login_at, created_at, updated_at, deleted_at, deleted_by").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: insert user: %w", interpretError(err))
	}
	return nil
}

// GetUser returns the live user with id, with Roles filled.
//
// It returns an error wrapping ErrNotFound when there is none (or it is
// soft-deleted).
func GetUser(ctx context.Context, db bun.IDB, id uuid.UUID) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).
		ColumnExpr(`"user".*`).ColumnExpr(userRolesColumn).
		Where(`"user"."id" = ?`, id).
		Where(`"user"."deleted_at" IS NULL`).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: get user %s: %w", id, interpretError(err))
	}
	return u, nil
}

// GetUserByEmail returns the live user whose email is email (compared as
// given: callers normalise it), with Roles filled.
//
// It returns an error wrapping ErrNotFound when there is none.
func GetUserByEmail(ctx context.Context, db bun.IDB, email string) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).
		ColumnExpr(`"user".*`).ColumnExpr(userRolesColumn).
		Where(`"user"."email" = ?`, email).
		Where(`"user"."deleted_at" IS NULL`).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: get user by email: %w", interpretError(err))
	}
	return u, nil
}

// ListUsers returns every live user ordered by email, with Roles filled; an
// empty slice when there are none.
func ListUsers(ctx context.Context, db bun.IDB) ([]User, error) {
	users := []User{}
	err := db.NewSelect().Model(&users).
		ColumnExpr(`"user".*`).ColumnExpr(userRolesColumn).
		Where(`"user"."deleted_at" IS NULL`).
		OrderExpr(`"user"."email"`).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", interpretError(err))
	}
	return users, nil
}

// UpdateUserProfile sets the email and name of the live user u.ID.
//
// It returns an error wrapping ErrNotFound when there is no such live user,
// ErrConflict when another live user has the email, and ErrInvalid when the
// email is not normalised.
func UpdateUserProfile(ctx context.Context, db bun.IDB, u *User) error {
	res, err := db.NewUpdate().Model(u).
		Column("email", "name").
		Set("updated_at = now()").
		WherePK().
		Where("deleted_at IS NULL").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: update user %s: %w", u.ID, interpretError(err))
	}
	if err := requireOneRow(res); err != nil {
		return fmt.Errorf("store: update user %s: %w", u.ID, err)
	}
	return nil
}

// SetUserActive enables (active true) or disables the live user id. Disabling
// records at and by; enabling keeps the last disabling on record. Setting the
// state a user already has succeeds and changes nothing, so retries are safe.
//
// It returns an error wrapping ErrNotFound when there is no such live user.
func SetUserActive(ctx context.Context, db bun.IDB, id uuid.UUID, active bool, by *uuid.UUID, at time.Time) error {
	q := db.NewUpdate().Model((*User)(nil)).
		Set("active = ?", active).
		Set("updated_at = now()").
		Where("id = ?", id).
		Where("deleted_at IS NULL")
	if !active {
		// Keep the first disabling time when disabling twice.
		q = q.Set("disabled_at = CASE WHEN active THEN ? ELSE disabled_at END", at).
			Set("disabled_by = CASE WHEN active THEN ?::uuid ELSE disabled_by END", by)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: set user %s active=%t: %w", id, active, interpretError(err))
	}
	if err := requireOneRow(res); err != nil {
		return fmt.Errorf("store: set user %s active=%t: %w", id, active, err)
	}
	return nil
}

// SetUserPassword stores hash as the live user id's password as of at.
//
// It returns an error wrapping ErrNotFound when there is no such live user,
// and ErrInvalid when hash is not an Argon2id PHC string.
func SetUserPassword(ctx context.Context, db bun.IDB, id uuid.UUID, hash string, at time.Time) error {
	res, err := db.NewUpdate().Model((*User)(nil)).
		Set("password_hash = ?", hash).
		Set("password_changed_at = ?", at).
		Set("updated_at = now()").
		Where("id = ?", id).
		Where("deleted_at IS NULL").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: set password of user %s: %w", id, interpretError(err))
	}
	if err := requireOneRow(res); err != nil {
		return fmt.Errorf("store: set password of user %s: %w", id, err)
	}
	return nil
}

// RecordLogin sets the live user id's last login time to at. A user that has
// gone is not an error: the login that raced its deletion simply leaves no
// trace.
func RecordLogin(ctx context.Context, db bun.IDB, id uuid.UUID, at time.Time) error {
	_, err := db.NewUpdate().Model((*User)(nil)).
		Set("last_login_at = ?", at).
		Where("id = ?", id).
		Where("deleted_at IS NULL").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: record login of user %s: %w", id, interpretError(err))
	}
	return nil
}

// Principal is what the API needs to know about a caller on every request:
// whether the account may act at all, and what it may do.
type Principal struct {
	// UserID identifies the user.
	UserID uuid.UUID `bun:"id,type:uuid"`
	// Email is the user's login name.
	Email string `bun:"email"`
	// Active is false for a disabled user.
	Active bool `bun:"active"`
	// Roles are the user's role names, sorted.
	Roles []string `bun:"roles,array"`
	// Permissions are the union of the roles' permissions, sorted.
	Permissions []string `bun:"permissions,array"`
}

// GetPrincipal returns the live user id's state, roles and permissions, read
// fresh: role changes and disabling take effect on the caller's next request.
//
// It returns an error wrapping ErrNotFound when there is no such live user.
func GetPrincipal(ctx context.Context, db bun.IDB, id uuid.UUID) (*Principal, error) {
	p := new(Principal)
	err := db.NewRaw(`
SELECT u.id, u.email, u.active,
       COALESCE((SELECT array_agg(ur.role ORDER BY ur.role) FROM user_roles ur WHERE ur.user_id = u.id), '{}') AS roles,
       COALESCE((SELECT array_agg(DISTINCT rp.permission ORDER BY rp.permission)
                 FROM user_roles ur JOIN role_permissions rp ON rp.role = ur.role
                 WHERE ur.user_id = u.id), '{}') AS permissions
FROM users u
WHERE u.id = ? AND u.deleted_at IS NULL`, id).Scan(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("store: get principal %s: %w", id, interpretError(err))
	}
	return p, nil
}
