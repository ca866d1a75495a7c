package service_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/password"
	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

func TestCreateUser(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	email := uniqueEmail()

	u, err := b.users.Create(b.ctx, service.NewUser{Email: "  " + strings.ToUpper(email), Name: " Ada ", Password: goodPassword, Roles: []string{"viewer", "qa_lead"}}, nil)
	require.NoError(t, err)
	require.Equal(t, email, u.Email, "lower-cased and trimmed")
	require.Equal(t, "Ada", u.Name)
	require.True(t, u.Active)
	require.Equal(t, []string{"qa_lead", "viewer"}, u.Roles)
	require.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$"))
	ok, _, err := password.Verify(goodPassword, u.PasswordHash)
	require.NoError(t, err)
	require.True(t, ok)

	_, err = b.users.Create(b.ctx, service.NewUser{Email: email, Password: goodPassword}, nil)
	requireCode(t, err, http.StatusConflict, service.CodeDuplicateEmail)

	_, err = b.users.Create(b.ctx, service.NewUser{Email: uniqueEmail(), Password: "short"}, nil)
	se := requireCode(t, err, http.StatusUnprocessableEntity, service.CodeWeakPassword)
	require.NotContains(t, se.Message, "short", "the policy message never repeats the password")

	_, err = b.users.Create(b.ctx, service.NewUser{Email: "not-an-email", Password: goodPassword}, nil)
	requireCode(t, err, http.StatusUnprocessableEntity, service.CodeValidationFailed)

	rolled := uniqueEmail()
	_, err = b.users.Create(b.ctx, service.NewUser{Email: rolled, Password: goodPassword, Roles: []string{"emperor"}}, nil)
	requireCode(t, err, http.StatusUnprocessableEntity, service.CodeUnknownRole)
	_, err = store.GetUserByEmail(b.ctx, b.store.DB, rolled)
	require.ErrorIs(t, err, store.ErrNotFound, "the account is not created without its roles")
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t)
	other := b.newUser(t)

	name, email := "Renamed", uniqueEmail()
	got, err := b.users.Update(b.ctx, u.ID, service.UserPatch{Name: &name, Email: &email})
	require.NoError(t, err)
	require.Equal(t, "Renamed", got.Name)
	require.Equal(t, email, got.Email)

	_, err = b.users.Update(b.ctx, u.ID, service.UserPatch{Email: &other.Email})
	requireCode(t, err, http.StatusConflict, service.CodeDuplicateEmail)
	_, err = b.users.Update(b.ctx, uuid.New(), service.UserPatch{Name: &name})
	requireCode(t, err, http.StatusNotFound, service.CodeNotFound)
	_, err = b.users.Get(b.ctx, uuid.New())
	requireCode(t, err, http.StatusNotFound, service.CodeNotFound)
}

func TestRoles(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t)
	admin := b.newUser(t, "admin")

	got, err := b.users.GrantRole(b.ctx, u.ID, "qa_operator", admin.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"qa_operator"}, got.Roles)
	_, err = b.users.GrantRole(b.ctx, u.ID, "nope", admin.ID)
	requireCode(t, err, http.StatusUnprocessableEntity, service.CodeUnknownRole)
	got, err = b.users.RevokeRole(b.ctx, u.ID, "qa_operator")
	require.NoError(t, err)
	require.Empty(t, got.Roles)
	_, err = b.users.GrantRole(b.ctx, uuid.New(), "viewer", admin.ID)
	requireCode(t, err, http.StatusNotFound, service.CodeNotFound)

	roles, err := b.users.Roles(b.ctx)
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(roles, func(r store.Role) bool { return r.Name == "qa_lead" }))
}

func TestResetPasswordRevokesSessions(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t)
	sess, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.1.0.1", "")
	require.NoError(t, err)

	const newPassword = "a brand new passphrase"
	require.NoError(t, b.users.ResetPassword(b.ctx, u.ID, newPassword))
	_, err = b.sessions.Refresh(b.ctx, sess.RefreshToken)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidRefreshToken)
	_, err = b.sessions.Login(b.ctx, u.Email, goodPassword, "10.1.0.1", "")
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidCredentials)
	_, err = b.sessions.Login(b.ctx, u.Email, newPassword, "10.1.0.1", "")
	require.NoError(t, err)

	requireCode(t, b.users.ResetPassword(b.ctx, u.ID, "tiny"), http.StatusUnprocessableEntity, service.CodeWeakPassword)
	requireCode(t, b.users.ResetPassword(b.ctx, uuid.New(), newPassword), http.StatusNotFound, service.CodeNotFound)
}

// The last-admin guard counts over the whole database, so this test has a
// database of its own.
func TestLastAdminGuard(t *testing.T) {
	t.Parallel()
	st := pgtest.NewStore(t)
	users := &service.Users{Store: st, PasswordParams: cheap}
	ctx := t.Context()
	create := func(roles ...string) *store.User {
		u, err := users.Create(ctx, service.NewUser{Email: uniqueEmail(), Password: goodPassword, Roles: roles}, nil)
		require.NoError(t, err)
		return u
	}
	viewer := create("viewer")
	// No user manager yet (the state before `rd admin user create`): the
	// guard does not get in the way of other changes.
	_, err := users.Disable(ctx, viewer.ID, viewer.ID)
	require.NoError(t, err)

	first := create("admin")
	_, err = users.Disable(ctx, first.ID, first.ID)
	requireCode(t, err, http.StatusConflict, service.CodeLastAdmin)
	_, err = users.RevokeRole(ctx, first.ID, "admin")
	requireCode(t, err, http.StatusConflict, service.CodeLastAdmin)

	second := create("admin")
	_, err = users.Disable(ctx, first.ID, second.ID)
	require.NoError(t, err, "another admin remains")
	_, err = users.RevokeRole(ctx, second.ID, "admin")
	requireCode(t, err, http.StatusConflict, service.CodeLastAdmin)
	got, err := users.Get(ctx, second.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"admin"}, got.Roles, "the refused change rolled back")
}

// The Go list of permissions and the seeded table must agree: an operation
// declaring a permission no role can hold would be closed to everyone.
func TestPermissionsMatchTheDatabase(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	perms, err := store.ListPermissions(b.ctx, b.store.DB)
	require.NoError(t, err)
	var names []string
	for _, p := range perms {
		names = append(names, p.Name)
	}
	require.Equal(t, service.Permissions, names)
	require.True(t, slices.IsSorted(service.Permissions))
	require.True(t, service.IsPermission(service.PermWebhookManage))
	require.False(t, service.IsPermission("webhook.manag"))
}
