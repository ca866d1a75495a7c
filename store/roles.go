package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Role is a row of roles with the names of its permissions.
type Role struct {
	bun.BaseModel `bun:"table:roles,alias:role"`

	// Name identifies the role: admin, qa_lead, qa_operator, viewer, …
	Name string `bun:"name,pk"`
	// Description says what the role is for.
	Description string `bun:"description"`
	// CreatedAt is set by the database.
	CreatedAt time.Time `bun:"created_at,nullzero"`
	// Permissions are the role's permission names, sorted. Filled by
	// ListRoles; InsertRole ignores it.
	Permissions []string `bun:"permissions,array,scanonly"`
}

// Permission is a row of permissions.
type Permission struct {
	bun.BaseModel `bun:"table:permissions,alias:permission"`

	// Name is the dotted name operations declare, like "user.manage".
	Name string `bun:"name,pk"`
	// Description says what the permission allows.
	Description string `bun:"description"`
}

// ListRoles returns every role with its permissions, ordered by name.
func ListRoles(ctx context.Context, db bun.IDB) ([]Role, error) {
	roles := []Role{}
	err := db.NewSelect().Model(&roles).
		ColumnExpr("role.*").
		ColumnExpr(`COALESCE((SELECT array_agg(rp.permission ORDER BY rp.permission) FROM role_permissions rp WHERE rp.role = role.name), '{}') AS permissions`).
		OrderExpr("role.name").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list roles: %w", interpretError(err))
	}
	return roles, nil
}

// ListPermissions returns every permission, ordered by name.
func ListPermissions(ctx context.Context, db bun.IDB) ([]Permission, error) {
	perms := []Permission{}
	if err := db.NewSelect().Model(&perms).Order("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list permissions: %w", interpretError(err))
	}
	return perms, nil
}

// InsertRole creates role with the given permissions. Deployments get their
// roles from migrations; this exists for tests and for later custom roles.
//
// It returns an error wrapping ErrConflict when the name is taken, and
// ErrInvalid when the name is malformed or a permission does not exist.
func InsertRole(ctx context.Context, db bun.IDB, role *Role, permissions []string) error {
	if _, err := db.NewInsert().Model(role).Returning("created_at").Exec(ctx); err != nil {
		return fmt.Errorf("store: insert role %q: %w", role.Name, interpretError(err))
	}
	for _, p := range permissions {
		_, err := db.NewRaw("INSERT INTO role_permissions (role, permission) VALUES (?, ?)", role.Name, p).Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: grant %q to role %q: %w", p, role.Name, interpretError(err))
		}
	}
	role.Permissions = permissions
	return nil
}

// GrantRole gives userID the role, recording who granted it. Granting a role
// the user already has succeeds and keeps the first grant.
//
// It returns an error wrapping ErrInvalid when the user or the role does not
// exist (constraints user_roles_user_id_fkey, user_roles_role_fkey).
func GrantRole(ctx context.Context, db bun.IDB, userID uuid.UUID, role string, grantedBy *uuid.UUID) error {
	_, err := db.NewRaw(`INSERT INTO user_roles (user_id, role, granted_by) VALUES (?, ?, ?)
ON CONFLICT (user_id, role) DO NOTHING`, userID, role, grantedBy).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: grant role %q to user %s: %w", role, userID, interpretError(err))
	}
	return nil
}

// RevokeRole takes the role from userID. Revoking a role the user does not
// have succeeds, so retries are safe.
func RevokeRole(ctx context.Context, db bun.IDB, userID uuid.UUID, role string) error {
	_, err := db.NewRaw("DELETE FROM user_roles WHERE user_id = ? AND role = ?", userID, role).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: revoke role %q from user %s: %w", role, userID, interpretError(err))
	}
	return nil
}

// CountActiveUsersWithPermission counts live, active users holding
// permission through any role, locking nothing. Services use it to refuse
// removing the last administrator.
func CountActiveUsersWithPermission(ctx context.Context, db bun.IDB, permission string) (int, error) {
	var n int
	err := db.NewRaw(`
SELECT count(DISTINCT u.id)
FROM users u
JOIN user_roles ur ON ur.user_id = u.id
JOIN role_permissions rp ON rp.role = ur.role
WHERE rp.permission = ? AND u.active AND u.deleted_at IS NULL`, permission).Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("store: count users with %q: %w", permission, interpretError(err))
	}
	return n, nil
}
