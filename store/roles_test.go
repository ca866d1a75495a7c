package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/store"
)

func TestSeededRoles(t *testing.T) {
	t.Parallel()
	bundle := setup(t)

	roles, err := store.ListRoles(bundle.ctx, bundle.tx)
	require.NoError(t, err)
	byName := map[string][]string{}
	for _, r := range roles {
		require.NotEmpty(t, r.Description, r.Name)
		byName[r.Name] = r.Permissions
	}
	require.Subset(t, keys(byName), []string{"admin", "qa_lead", "qa_operator", "viewer"})

	perms, err := store.ListPermissions(bundle.ctx, bundle.tx)
	require.NoError(t, err)
	var all []string
	for _, p := range perms {
		all = append(all, p.Name)
	}
	require.Equal(t, all, byName["admin"], "admin holds every permission")
	require.Contains(t, byName["qa_lead"], "qa.task.assign")
	require.NotContains(t, byName["qa_operator"], "qa.task.assign")
	for _, p := range byName["viewer"] {
		require.NotContains(t, p, "manage", "viewer is read-only")
	}
}

func TestInsertRole(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	role := &store.Role{Name: "r_" + randomToken(t, 4), Description: "test"}
	require.NoError(t, store.InsertRole(bundle.ctx, bundle.tx, role, []string{"job.view"}))

	u := insertUser(t, bundle)
	require.NoError(t, store.GrantRole(bundle.ctx, bundle.tx, u.ID, role.Name, nil))
	p, err := store.GetPrincipal(bundle.ctx, bundle.tx, u.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"job.view"}, p.Permissions)

	err = store.InsertRole(bundle.ctx, bundle.tx, &store.Role{Name: "r_" + randomToken(t, 4), Description: "x"}, []string{"no.such"})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func TestCountActiveUsersWithPermission(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	before, err := store.CountActiveUsersWithPermission(bundle.ctx, bundle.tx, "user.manage")
	require.NoError(t, err)

	u := insertUser(t, bundle)
	require.NoError(t, store.GrantRole(bundle.ctx, bundle.tx, u.ID, "admin", nil))
	n, err := store.CountActiveUsersWithPermission(bundle.ctx, bundle.tx, "user.manage")
	require.NoError(t, err)
	require.Equal(t, before+1, n)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
