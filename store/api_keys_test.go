package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/store"
)

func TestEnvironmentScrapePriority(t *testing.T) {
	t.Parallel()
	require.Equal(t, 100, store.EnvironmentProduction.ScrapePriority())
	require.Equal(t, 1000, store.EnvironmentTest.ScrapePriority())
	require.Equal(t, 0, store.Environment("staging").ScrapePriority())
}

func TestInsertAPIKey(t *testing.T) {
	t.Parallel()

	t.Run("RoundTripsThroughFindByPrefix", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		key := newAPIKey(t)
		key.Environment = store.EnvironmentTest

		require.NoError(t, store.InsertAPIKey(bundle.ctx, bundle.tx, key))
		require.NotEqual(t, uuid.Nil, key.ID)
		require.Equal(t, store.ScrapePriorityTest, key.ScrapePriority, "filled from the environment")
		require.False(t, key.CreatedAt.IsZero(), "filled by the database default")

		got, err := store.FindAPIKeyByPrefix(bundle.ctx, bundle.tx, key.Prefix)
		require.NoError(t, err)
		require.Equal(t, key.ID, got.ID)
		require.Equal(t, key.Prefix, got.Prefix)
		require.Equal(t, key.KeyHash, got.KeyHash)
		require.Equal(t, "RM production", got.Name)
		require.Equal(t, "rm", got.Integrator)
		require.Equal(t, store.EnvironmentTest, got.Environment)
		require.Equal(t, store.ScrapePriorityTest, got.ScrapePriority)
		require.True(t, key.CreatedAt.Equal(got.CreatedAt))
		require.Nil(t, got.RevokedAt)
	})

	t.Run("KeepsGivenID", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		key := newAPIKey(t)
		key.ID = uuid.New()
		want := key.ID
		require.NoError(t, store.InsertAPIKey(bundle.ctx, bundle.tx, key))
		require.Equal(t, want, key.ID)
	})

	// Each case breaks one CHECK constraint; asserting the constraint's name
	// proves that constraint, not some other failure, refused the row.
	refusals := []struct {
		name       string
		mutate     func(*store.APIKey)
		constraint string
	}{
		{"UnknownEnvironment", func(k *store.APIKey) { k.Environment = "staging"; k.ScrapePriority = 1000 }, "api_keys_environment_check"},
		{"ProductionWithTestPriority", func(k *store.APIKey) { k.ScrapePriority = store.ScrapePriorityTest }, "api_keys_scrape_priority_check"},
		{"TestWithProductionPriority", func(k *store.APIKey) {
			k.Environment = store.EnvironmentTest
			k.ScrapePriority = store.ScrapePriorityProduction
		}, "api_keys_scrape_priority_check"},
		{"ShortHash", func(k *store.APIKey) { k.KeyHash = k.KeyHash[:31] }, "api_keys_key_hash_check"},
		{"EmptyName", func(k *store.APIKey) { k.Name = "" }, "api_keys_name_check"},
		{"EmptyPrefix", func(k *store.APIKey) { k.Prefix = "" }, "api_keys_prefix_check"},
	}
	for _, tt := range refusals {
		t.Run("Refuses"+tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t)
			key := newAPIKey(t)
			tt.mutate(key)
			err := store.InsertAPIKey(bundle.ctx, bundle.tx, key)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Equal(t, tt.constraint, store.ConstraintName(err))
		})
	}
}

func TestFindAPIKeyByPrefix(t *testing.T) {
	t.Parallel()

	t.Run("UnknownPrefixIsNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		_, err := store.FindAPIKeyByPrefix(bundle.ctx, bundle.tx, "rd_unknown")
		require.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("RevokedKeyIsNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		key := newAPIKey(t)
		require.NoError(t, store.InsertAPIKey(bundle.ctx, bundle.tx, key))
		_, err := store.RevokeAPIKey(bundle.ctx, bundle.tx, key.ID, time.Now())
		require.NoError(t, err)

		_, err = store.FindAPIKeyByPrefix(bundle.ctx, bundle.tx, key.Prefix)
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestRevokeAPIKey(t *testing.T) {
	t.Parallel()

	t.Run("SetsRevokedAtOnceAndIsIdempotent", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		key := newAPIKey(t)
		require.NoError(t, store.InsertAPIKey(bundle.ctx, bundle.tx, key))

		first := time.Now().Add(-time.Minute)
		got, err := store.RevokeAPIKey(bundle.ctx, bundle.tx, key.ID, first)
		require.NoError(t, err)
		require.Equal(t, key.ID, got.ID)
		require.Equal(t, key.Prefix, got.Prefix, "returns the whole stored row")
		require.NotNil(t, got.RevokedAt)
		require.WithinDuration(t, first, *got.RevokedAt, time.Millisecond)

		again, err := store.RevokeAPIKey(bundle.ctx, bundle.tx, key.ID, time.Now())
		require.NoError(t, err)
		require.NotNil(t, again.RevokedAt)
		require.True(t, got.RevokedAt.Equal(*again.RevokedAt), "the first revocation time is kept")
	})

	t.Run("UnknownIDIsNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		_, err := store.RevokeAPIKey(bundle.ctx, bundle.tx, uuid.New(), time.Now())
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}
