package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/store"
)

func TestAPIKeyAdmin(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	integrator := "int-" + randomToken(t, 4)
	a, b := newAPIKey(t), newAPIKey(t)
	a.Integrator, b.Integrator = integrator, integrator
	require.NoError(t, store.InsertAPIKey(bundle.ctx, bundle.tx, a))
	require.NoError(t, store.InsertAPIKey(bundle.ctx, bundle.tx, b))
	require.Nil(t, a.RateLimitPerMinute)
	_, err := store.RevokeAPIKey(bundle.ctx, bundle.tx, a.ID, time.Now())
	require.NoError(t, err)

	active, err := store.ListAPIKeys(bundle.ctx, bundle.tx, store.APIKeyFilter{Integrator: integrator})
	require.NoError(t, err)
	require.Len(t, active, 1)
	require.Equal(t, b.ID, active[0].ID)
	all, err := store.ListAPIKeys(bundle.ctx, bundle.tx, store.APIKeyFilter{Integrator: integrator, IncludeRevoked: true})
	require.NoError(t, err)
	require.Len(t, all, 2)
	byPrefix, err := store.ListAPIKeys(bundle.ctx, bundle.tx, store.APIKeyFilter{Prefix: a.Prefix, IncludeRevoked: true})
	require.NoError(t, err)
	require.Len(t, byPrefix, 1)
	require.Equal(t, a.ID, byPrefix[0].ID)

	limit := 42
	got, err := store.SetAPIKeyRateLimit(bundle.ctx, bundle.tx, b.ID, &limit)
	require.NoError(t, err)
	require.Equal(t, 42, *got.RateLimitPerMinute)
	found, err := store.FindAPIKeyByPrefix(bundle.ctx, bundle.tx, b.Prefix)
	require.NoError(t, err)
	require.Equal(t, 42, *found.RateLimitPerMinute)

	got, err = store.SetAPIKeyRateLimit(bundle.ctx, bundle.tx, b.ID, nil)
	require.NoError(t, err)
	require.Nil(t, got.RateLimitPerMinute)

	_, err = store.GetAPIKey(bundle.ctx, bundle.tx, uuid.New())
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = store.SetAPIKeyRateLimit(bundle.ctx, bundle.tx, uuid.New(), nil)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Last: the refusal aborts the test's transaction.
	zero := 0
	_, err = store.SetAPIKeyRateLimit(bundle.ctx, bundle.tx, b.ID, &zero)
	require.ErrorIs(t, err, store.ErrInvalid)
}
