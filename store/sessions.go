package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Reasons a refresh token family was revoked; the table refuses others.
const (
	RevokedLogout        = "logout"
	RevokedReuse         = "reuse"
	RevokedUserDisabled  = "user_disabled"
	RevokedPasswordReset = "password_reset"
)

// RefreshToken is a row of refresh_tokens. The token itself is never stored:
// only its SHA-256, which is what lookups use.
type RefreshToken struct {
	bun.BaseModel `bun:"table:refresh_tokens,alias:rt"`

	// ID identifies the token; InsertRefreshToken makes a UUIDv7 when zero.
	ID uuid.UUID `bun:"id,pk,type:uuid"`
	// UserID is the user the token refreshes sessions of.
	UserID uuid.UUID `bun:"user_id,type:uuid"`
	// FamilyID is shared by every token rotated from one login.
	FamilyID uuid.UUID `bun:"family_id,type:uuid"`
	// TokenHash is the SHA-256 of the token: exactly 32 bytes.
	TokenHash []byte `bun:"token_hash,type:bytea"`
	// TokenType is the access token type the family issues: "access" or
	// "extension".
	TokenType string `bun:"token_type"`
	// CreatedAt is set by the database.
	CreatedAt time.Time `bun:"created_at,nullzero"`
	// ExpiresAt is when the token stops refreshing.
	ExpiresAt time.Time `bun:"expires_at"`
	// UsedAt is when the token was rotated; nil while it is the family's
	// current token.
	UsedAt *time.Time `bun:"used_at"`
	// ReplacedBy is the token that succeeded this one.
	ReplacedBy *uuid.UUID `bun:"replaced_by,type:uuid"`
	// RevokedAt and RevokedReason are set when the family is revoked.
	RevokedAt     *time.Time `bun:"revoked_at"`
	RevokedReason *string    `bun:"revoked_reason"`
}

// InsertRefreshToken inserts t and fills in its ID and CreatedAt.
//
// It returns an error wrapping ErrConflict when the hash is already stored,
// and ErrInvalid when the user does not exist, the hash is not 32 bytes or
// the type is unknown.
func InsertRefreshToken(ctx context.Context, db bun.IDB, t *RefreshToken) error {
	if t.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("store: insert refresh token: %w", err)
		}
		t.ID = id
	}
	if _, err := db.NewInsert().Model(t).Returning("created_at").Exec(ctx); err != nil {
		return fmt.Errorf("store: insert refresh token: %w", interpretError(err))
	}
	return nil
}

// FindRefreshTokenForUpdate returns the token whose hash is hash, locking its
// row until the transaction ends so that two concurrent uses of one token
// are decided one after the other. Use it inside a transaction.
//
// It returns an error wrapping ErrNotFound when no token has the hash.
func FindRefreshTokenForUpdate(ctx context.Context, db bun.IDB, hash []byte) (*RefreshToken, error) {
	t := new(RefreshToken)
	if err := db.NewSelect().Model(t).Where("token_hash = ?", hash).For("UPDATE").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: find refresh token: %w", interpretError(err))
	}
	return t, nil
}

// MarkRefreshTokenUsed records that the token id was rotated at at into
// replacedBy.
//
// It returns an error wrapping ErrNotFound when the token does not exist or
// was already used: the caller's lock should have ruled that out.
func MarkRefreshTokenUsed(ctx context.Context, db bun.IDB, id, replacedBy uuid.UUID, at time.Time) error {
	res, err := db.NewUpdate().Model((*RefreshToken)(nil)).
		Set("used_at = ?", at).
		Set("replaced_by = ?", replacedBy).
		Where("id = ?", id).
		Where("used_at IS NULL").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: mark refresh token %s used: %w", id, interpretError(err))
	}
	if err := requireOneRow(res); err != nil {
		return fmt.Errorf("store: mark refresh token %s used: %w", id, err)
	}
	return nil
}

// RevokeRefreshFamily revokes every not yet revoked token of familyID as of
// at for reason (one of the Revoked… constants) and returns how many it
// revoked. Revoking a revoked family revokes nothing and succeeds.
func RevokeRefreshFamily(ctx context.Context, db bun.IDB, familyID uuid.UUID, reason string, at time.Time) (int, error) {
	res, err := db.NewUpdate().Model((*RefreshToken)(nil)).
		Set("revoked_at = ?", at).
		Set("revoked_reason = ?", reason).
		Where("family_id = ?", familyID).
		Where("revoked_at IS NULL").
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: revoke refresh family %s: %w", familyID, interpretError(err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// RefreshFamilyRevokedReason returns why a token of familyID was revoked,
// or "" when none is. Families are revoked whole, but a rotation racing a
// revocation can insert a token the revoking UPDATE never saw: a live token
// beside a revoked one must be refused and revoked too.
func RefreshFamilyRevokedReason(ctx context.Context, db bun.IDB, familyID uuid.UUID) (string, error) {
	var reason string
	err := db.NewSelect().Model((*RefreshToken)(nil)).
		Column("revoked_reason").
		Where("family_id = ?", familyID).
		Where("revoked_at IS NOT NULL").
		Limit(1).
		Scan(ctx, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: check refresh family %s: %w", familyID, interpretError(err))
	}
	return reason, nil
}

// RevokeUserRefreshTokens revokes every live refresh token of userID as of
// at for reason and returns how many it revoked.
func RevokeUserRefreshTokens(ctx context.Context, db bun.IDB, userID uuid.UUID, reason string, at time.Time) (int, error) {
	res, err := db.NewUpdate().Model((*RefreshToken)(nil)).
		Set("revoked_at = ?", at).
		Set("revoked_reason = ?", reason).
		Where("user_id = ?", userID).
		Where("revoked_at IS NULL").
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: revoke refresh tokens of user %s: %w", userID, interpretError(err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}
