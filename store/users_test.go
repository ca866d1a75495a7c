package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/store"
)

// fakeHash is a well-formed PHC prefix; the store does not verify hashes.
const fakeHash = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA"

// newUser returns a valid, not yet inserted user with a unique email.
func newUser(t *testing.T) *store.User {
	t.Helper()
	return &store.User{Email: "op-" + randomToken(t, 6) + "@example.com", Name: "Op", PasswordHash: fakeHash}
}

func insertUser(t *testing.T, bundle *testBundle) *store.User {
	t.Helper()
	u := newUser(t)
	require.NoError(t, store.InsertUser(bundle.ctx, bundle.tx, u))
	return u
}

func TestInsertUser(t *testing.T) {
	t.Parallel()

	t.Run("RoundTrips", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		u := insertUser(t, bundle)
		require.NotEqual(t, uuid.Nil, u.ID)
		require.True(t, u.Active)
		require.False(t, u.CreatedAt.IsZero())
		require.False(t, u.PasswordChangedAt.IsZero())

		got, err := store.GetUser(bundle.ctx, bundle.tx, u.ID)
		require.NoError(t, err)
		require.Equal(t, u.Email, got.Email)
		require.Equal(t, fakeHash, got.PasswordHash)
		require.Empty(t, got.Roles)

		byEmail, err := store.GetUserByEmail(bundle.ctx, bundle.tx, u.Email)
		require.NoError(t, err)
		require.Equal(t, u.ID, byEmail.ID)
	})

	t.Run("RefusesDuplicateLiveEmail", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		u := insertUser(t, bundle)
		dup := newUser(t)
		dup.Email = u.Email
		err := store.InsertUser(bundle.ctx, bundle.tx, dup)
		require.ErrorIs(t, err, store.ErrConflict)
		require.Equal(t, "users_email_live_idx", store.ConstraintName(err))
	})

	refusals := []struct {
		name       string
		mutate     func(*store.User)
		constraint string
	}{
		{"UpperCaseEmail", func(u *store.User) { u.Email = "Op@Example.com" }, "users_email_check"},
		{"PaddedEmail", func(u *store.User) { u.Email = " op@example.com" }, "users_email_check"},
		{"NotArgon2id", func(u *store.User) { u.PasswordHash = "plaintext" }, "users_password_hash_check"},
	}
	for _, tt := range refusals {
		t.Run("Refuses"+tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t)
			u := newUser(t)
			tt.mutate(u)
			err := store.InsertUser(bundle.ctx, bundle.tx, u)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Equal(t, tt.constraint, store.ConstraintName(err))
		})
	}
}

func TestGetUserNotFound(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	_, err := store.GetUser(bundle.ctx, bundle.tx, uuid.New())
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = store.GetUserByEmail(bundle.ctx, bundle.tx, "nobody@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = store.GetPrincipal(bundle.ctx, bundle.tx, uuid.New())
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestSetUserActive(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	admin := insertUser(t, bundle)
	u := insertUser(t, bundle)
	first := time.Now().UTC().Truncate(time.Millisecond)

	require.NoError(t, store.SetUserActive(bundle.ctx, bundle.tx, u.ID, false, &admin.ID, first))
	got, err := store.GetUser(bundle.ctx, bundle.tx, u.ID)
	require.NoError(t, err)
	require.False(t, got.Active)
	require.True(t, first.Equal(*got.DisabledAt))
	require.Equal(t, admin.ID, *got.DisabledBy)

	// Disabling again keeps the first record.
	require.NoError(t, store.SetUserActive(bundle.ctx, bundle.tx, u.ID, false, nil, first.Add(time.Hour)))
	got, err = store.GetUser(bundle.ctx, bundle.tx, u.ID)
	require.NoError(t, err)
	require.True(t, first.Equal(*got.DisabledAt))
	require.Equal(t, admin.ID, *got.DisabledBy)

	require.NoError(t, store.SetUserActive(bundle.ctx, bundle.tx, u.ID, true, nil, time.Now()))
	got, err = store.GetUser(bundle.ctx, bundle.tx, u.ID)
	require.NoError(t, err)
	require.True(t, got.Active)

	err = store.SetUserActive(bundle.ctx, bundle.tx, uuid.New(), false, nil, time.Now())
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestUpdateUserProfileAndPassword(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	u := insertUser(t, bundle)
	other := insertUser(t, bundle)

	u.Name = "Renamed"
	u.Email = "renamed-" + randomToken(t, 4) + "@example.com"
	require.NoError(t, store.UpdateUserProfile(bundle.ctx, bundle.tx, u))
	got, err := store.GetUser(bundle.ctx, bundle.tx, u.ID)
	require.NoError(t, err)
	require.Equal(t, "Renamed", got.Name)
	require.Equal(t, u.Email, got.Email)

	newHash := fakeHash + "x"
	at := time.Now().UTC().Truncate(time.Millisecond)
	require.NoError(t, store.SetUserPassword(bundle.ctx, bundle.tx, other.ID, newHash, at))
	got, err = store.GetUser(bundle.ctx, bundle.tx, other.ID)
	require.NoError(t, err)
	require.Equal(t, newHash, got.PasswordHash)
	require.True(t, at.Equal(got.PasswordChangedAt))
	require.ErrorIs(t, store.SetUserPassword(bundle.ctx, bundle.tx, uuid.New(), newHash, at), store.ErrNotFound)

	require.NoError(t, store.RecordLogin(bundle.ctx, bundle.tx, other.ID, at))
	got, err = store.GetUser(bundle.ctx, bundle.tx, other.ID)
	require.NoError(t, err)
	require.True(t, at.Equal(*got.LastLoginAt))

	// Last: the refusal aborts the test's transaction.
	u.Email = other.Email
	require.ErrorIs(t, store.UpdateUserProfile(bundle.ctx, bundle.tx, u), store.ErrConflict)
}

func TestListUsers(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	a := insertUser(t, bundle)
	require.NoError(t, store.GrantRole(bundle.ctx, bundle.tx, a.ID, "viewer", nil))
	require.NoError(t, store.GrantRole(bundle.ctx, bundle.tx, a.ID, "qa_lead", nil))

	users, err := store.ListUsers(bundle.ctx, bundle.tx)
	require.NoError(t, err)
	var found *store.User
	for i := range users {
		if users[i].ID == a.ID {
			found = &users[i]
		}
	}
	require.NotNil(t, found)
	require.Equal(t, []string{"qa_lead", "viewer"}, found.Roles, "sorted role names")
}

func TestPrincipalFollowsRoles(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	u := insertUser(t, bundle)

	p, err := store.GetPrincipal(bundle.ctx, bundle.tx, u.ID)
	require.NoError(t, err)
	require.True(t, p.Active)
	require.Empty(t, p.Roles)
	require.Empty(t, p.Permissions)

	require.NoError(t, store.GrantRole(bundle.ctx, bundle.tx, u.ID, "qa_operator", nil))
	require.NoError(t, store.GrantRole(bundle.ctx, bundle.tx, u.ID, "viewer", nil))
	require.NoError(t, store.GrantRole(bundle.ctx, bundle.tx, u.ID, "viewer", nil), "granting twice is a no-op")
	p, err = store.GetPrincipal(bundle.ctx, bundle.tx, u.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"qa_operator", "viewer"}, p.Roles)
	require.Equal(t, []string{
		"admission.view", "extension.use", "job.view", "publisher.view",
		"qa.task.claim", "qa.task.complete", "qa.task.view", "webhook.view",
	}, p.Permissions, "the union, each once, sorted")

	require.NoError(t, store.RevokeRole(bundle.ctx, bundle.tx, u.ID, "qa_operator"))
	require.NoError(t, store.SetUserActive(bundle.ctx, bundle.tx, u.ID, false, nil, time.Now()))
	p, err = store.GetPrincipal(bundle.ctx, bundle.tx, u.ID)
	require.NoError(t, err)
	require.False(t, p.Active)
	require.Equal(t, []string{"viewer"}, p.Roles)
	require.NotContains(t, p.Permissions, "qa.task.claim")
}

func TestGrantRoleRefusesUnknownRole(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	u := insertUser(t, bundle)
	err := store.GrantRole(bundle.ctx, bundle.tx, u.ID, "emperor", nil)
	require.ErrorIs(t, err, store.ErrInvalid)
	require.Equal(t, "user_roles_role_fkey", store.ConstraintName(err))
}
