package store_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/store"
)

func newRefreshToken(t *testing.T, userID, family uuid.UUID) *store.RefreshToken {
	t.Helper()
	hash := sha256.Sum256([]byte(randomToken(t, 16)))
	return &store.RefreshToken{
		UserID: userID, FamilyID: family, TokenHash: hash[:], TokenType: "access",
		ExpiresAt: time.Now().Add(time.Hour),
	}
}

func TestRefreshTokenRotation(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	u := insertUser(t, bundle)
	family := uuid.New()

	first := newRefreshToken(t, u.ID, family)
	require.NoError(t, store.InsertRefreshToken(bundle.ctx, bundle.tx, first))
	require.NotEqual(t, uuid.Nil, first.ID)

	got, err := store.FindRefreshTokenForUpdate(bundle.ctx, bundle.tx, first.TokenHash)
	require.NoError(t, err)
	require.Equal(t, first.ID, got.ID)
	require.Nil(t, got.UsedAt)

	second := newRefreshToken(t, u.ID, family)
	require.NoError(t, store.InsertRefreshToken(bundle.ctx, bundle.tx, second))
	now := time.Now()
	require.NoError(t, store.MarkRefreshTokenUsed(bundle.ctx, bundle.tx, first.ID, second.ID, now))
	require.ErrorIs(t, store.MarkRefreshTokenUsed(bundle.ctx, bundle.tx, first.ID, second.ID, now), store.ErrNotFound,
		"a used token cannot be used again")

	got, err = store.FindRefreshTokenForUpdate(bundle.ctx, bundle.tx, first.TokenHash)
	require.NoError(t, err)
	require.NotNil(t, got.UsedAt)
	require.Equal(t, second.ID, *got.ReplacedBy)

	other := newRefreshToken(t, u.ID, uuid.New())
	require.NoError(t, store.InsertRefreshToken(bundle.ctx, bundle.tx, other))

	n, err := store.RevokeRefreshFamily(bundle.ctx, bundle.tx, family, store.RevokedReuse, now)
	require.NoError(t, err)
	require.Equal(t, 2, n, "both tokens of the family")
	n, err = store.RevokeRefreshFamily(bundle.ctx, bundle.tx, family, store.RevokedReuse, now)
	require.NoError(t, err)
	require.Zero(t, n, "already revoked")

	got, err = store.FindRefreshTokenForUpdate(bundle.ctx, bundle.tx, second.TokenHash)
	require.NoError(t, err)
	require.NotNil(t, got.RevokedAt)
	require.Equal(t, store.RevokedReuse, *got.RevokedReason)

	got, err = store.FindRefreshTokenForUpdate(bundle.ctx, bundle.tx, other.TokenHash)
	require.NoError(t, err)
	require.Nil(t, got.RevokedAt, "other families are untouched")

	n, err = store.RevokeUserRefreshTokens(bundle.ctx, bundle.tx, u.ID, store.RevokedUserDisabled, now)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestRefreshFamilyRevokedReason(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	u := insertUser(t, bundle)
	family := uuid.New()
	for range 2 {
		require.NoError(t, store.InsertRefreshToken(bundle.ctx, bundle.tx, newRefreshToken(t, u.ID, family)))
	}

	reason, err := store.RefreshFamilyRevokedReason(bundle.ctx, bundle.tx, family)
	require.NoError(t, err)
	require.Empty(t, reason, "nothing revoked")

	_, err = store.RevokeRefreshFamily(bundle.ctx, bundle.tx, family, store.RevokedLogout, time.Now())
	require.NoError(t, err)
	reason, err = store.RefreshFamilyRevokedReason(bundle.ctx, bundle.tx, family)
	require.NoError(t, err)
	require.Equal(t, store.RevokedLogout, reason)

	reason, err = store.RefreshFamilyRevokedReason(bundle.ctx, bundle.tx, uuid.New())
	require.NoError(t, err)
	require.Empty(t, reason, "unknown family")
}

func TestRefreshTokenRefusals(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	u := insertUser(t, bundle)

	_, err := store.FindRefreshTokenForUpdate(bundle.ctx, bundle.tx, make([]byte, 32))
	require.ErrorIs(t, err, store.ErrNotFound)

	bad := newRefreshToken(t, u.ID, uuid.New())
	bad.TokenType = "console"
	err = store.InsertRefreshToken(bundle.ctx, bundle.tx, bad)
	require.ErrorIs(t, err, store.ErrInvalid)
	require.Equal(t, "refresh_tokens_token_type_check", store.ConstraintName(err))
}
