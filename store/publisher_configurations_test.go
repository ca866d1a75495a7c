package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/store"
)

// newPublisherConfiguration returns a valid configuration for a unique key.
func newPublisherConfiguration(t *testing.T) *store.PublisherConfiguration {
	t.Helper()
	key := "pub-" + randomToken(t, 4)
	return &store.PublisherConfiguration{
		PublisherKey:  key,
		DisplayName:   "Publisher " + key,
		ScraperEngine: store.ScraperEngineSAU,
		PostingMode:   store.PostingModeAutomated,
		AuthType:      store.AuthTypeCredentials,
		TaskQueue:     "scrape-" + key,
		Active:        true,
	}
}

func TestUpsertPublisherConfiguration(t *testing.T) {
	t.Parallel()

	t.Run("InsertsThenGets", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		pc := newPublisherConfiguration(t)
		pc.BrowserBacked = true

		require.NoError(t, store.UpsertPublisherConfiguration(bundle.ctx, bundle.tx, pc))
		require.NotEqual(t, uuid.Nil, pc.ID)
		require.False(t, pc.CreatedAt.IsZero())
		require.False(t, pc.UpdatedAt.IsZero())

		got, err := store.GetPublisherConfiguration(bundle.ctx, bundle.tx, pc.PublisherKey)
		require.NoError(t, err)
		require.Equal(t, pc.ID, got.ID)
		require.Equal(t, pc.DisplayName, got.DisplayName)
		require.Equal(t, store.ScraperEngineSAU, got.ScraperEngine)
		require.Equal(t, store.PostingModeAutomated, got.PostingMode)
		require.Equal(t, store.AuthTypeCredentials, got.AuthType)
		require.True(t, got.BrowserBacked)
		require.Equal(t, pc.TaskQueue, got.TaskQueue)
		require.True(t, got.Active)
		require.Nil(t, got.DeletedAt)
		require.Nil(t, got.DeletedBy)
	})

	t.Run("UpdatesLiveRowKeepingIDAndCreatedAt", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		pc := newPublisherConfiguration(t)
		require.NoError(t, store.UpsertPublisherConfiguration(bundle.ctx, bundle.tx, pc))

		changed := newPublisherConfiguration(t)
		changed.PublisherKey = pc.PublisherKey
		changed.DisplayName = "Renamed"
		changed.ScraperEngine = store.ScraperEngineLDE
		changed.PostingMode = store.PostingModeManualQA
		changed.AuthType = store.AuthTypeOAuth
		changed.TaskQueue = "scraping-lde"
		changed.Active = false
		require.NoError(t, store.UpsertPublisherConfiguration(bundle.ctx, bundle.tx, changed))
		require.Equal(t, pc.ID, changed.ID, "the stored row's ID comes back")
		require.True(t, pc.CreatedAt.Equal(changed.CreatedAt))

		got, err := store.GetPublisherConfiguration(bundle.ctx, bundle.tx, pc.PublisherKey)
		require.NoError(t, err)
		require.Equal(t, pc.ID, got.ID)
		require.Equal(t, "Renamed", got.DisplayName)
		require.Equal(t, store.ScraperEngineLDE, got.ScraperEngine)
		require.Equal(t, store.PostingModeManualQA, got.PostingMode)
		require.Equal(t, store.AuthTypeOAuth, got.AuthType)
		require.Equal(t, "scraping-lde", got.TaskQueue)
		require.False(t, got.Active)

		all, err := store.ListPublisherConfigurations(bundle.ctx, bundle.tx)
		require.NoError(t, err)
		require.Len(t, all, 1, "an update must not add a row")
	})

	t.Run("ZeroPostingModeIsDisabled", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		pc := newPublisherConfiguration(t)
		pc.PostingMode = ""
		require.NoError(t, store.UpsertPublisherConfiguration(bundle.ctx, bundle.tx, pc))
		require.Equal(t, store.PostingModeDisabled, pc.PostingMode)
	})

	refusals := []struct {
		name       string
		mutate     func(*store.PublisherConfiguration)
		constraint string
	}{
		{"UnknownScraperEngine", func(pc *store.PublisherConfiguration) { pc.ScraperEngine = "SCRAPY" }, "publisher_configuration_scraper_engine_check"},
		{"UnknownPostingMode", func(pc *store.PublisherConfiguration) { pc.PostingMode = "SOMETIMES" }, "publisher_configuration_posting_mode_check"},
		{"UnknownAuthType", func(pc *store.PublisherConfiguration) { pc.AuthType = "API_KEY" }, "publisher_configuration_auth_type_check"},
		{"LowerCaseEnum", func(pc *store.PublisherConfiguration) { pc.ScraperEngine = "sau" }, "publisher_configuration_scraper_engine_check"},
		{"UpperCaseKey", func(pc *store.PublisherConfiguration) { pc.PublisherKey = "Google" }, "publisher_configuration_publisher_key_check"},
		{"EmptyTaskQueue", func(pc *store.PublisherConfiguration) { pc.TaskQueue = "" }, "publisher_configuration_task_queue_check"},
	}
	for _, tt := range refusals {
		t.Run("Refuses"+tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t)
			pc := newPublisherConfiguration(t)
			tt.mutate(pc)
			err := store.UpsertPublisherConfiguration(bundle.ctx, bundle.tx, pc)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Equal(t, tt.constraint, store.ConstraintName(err))
		})
	}
}

func TestGetPublisherConfiguration(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	_, err := store.GetPublisherConfiguration(bundle.ctx, bundle.tx, "no-such-publisher")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestListPublisherConfigurations(t *testing.T) {
	t.Parallel()
	bundle := setup(t)

	empty, err := store.ListPublisherConfigurations(bundle.ctx, bundle.tx)
	require.NoError(t, err)
	require.NotNil(t, empty)
	require.Empty(t, empty)

	for _, key := range []string{"yelp", "booking", "google"} {
		pc := newPublisherConfiguration(t)
		pc.PublisherKey = key
		require.NoError(t, store.UpsertPublisherConfiguration(bundle.ctx, bundle.tx, pc))
	}
	require.NoError(t, store.SoftDeletePublisherConfiguration(bundle.ctx, bundle.tx, "booking", nil, time.Now()))

	all, err := store.ListPublisherConfigurations(bundle.ctx, bundle.tx)
	require.NoError(t, err)
	keys := make([]string, 0, len(all))
	for _, pc := range all {
		keys = append(keys, pc.PublisherKey)
	}
	require.Equal(t, []string{"google", "yelp"}, keys, "live rows only, ordered by key")
}

func TestSoftDeletePublisherConfiguration(t *testing.T) {
	t.Parallel()

	t.Run("FreesTheKeyForANewRow", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		old := newPublisherConfiguration(t)
		require.NoError(t, store.UpsertPublisherConfiguration(bundle.ctx, bundle.tx, old))

		admin := insertUser(t, bundle).ID // deleted_by references users
		deletedAt := time.Now()
		require.NoError(t, store.SoftDeletePublisherConfiguration(bundle.ctx, bundle.tx, old.PublisherKey, &admin, deletedAt))
		_, err := store.GetPublisherConfiguration(bundle.ctx, bundle.tx, old.PublisherKey)
		require.ErrorIs(t, err, store.ErrNotFound)

		// The partial unique index covers live rows only, so the key can be
		// configured again; the upsert must not revive the deleted row.
		recreated := newPublisherConfiguration(t)
		recreated.PublisherKey = old.PublisherKey
		require.NoError(t, store.UpsertPublisherConfiguration(bundle.ctx, bundle.tx, recreated))
		require.NotEqual(t, old.ID, recreated.ID)

		got, err := store.GetPublisherConfiguration(bundle.ctx, bundle.tx, old.PublisherKey)
		require.NoError(t, err)
		require.Equal(t, recreated.ID, got.ID)

		deleted := new(store.PublisherConfiguration)
		require.NoError(t, bundle.tx.NewSelect().Model(deleted).Where("id = ?", old.ID).Scan(bundle.ctx))
		require.NotNil(t, deleted.DeletedAt)
		require.WithinDuration(t, deletedAt, *deleted.DeletedAt, time.Millisecond)
		require.NotNil(t, deleted.DeletedBy)
		require.Equal(t, admin, *deleted.DeletedBy)
	})

	t.Run("TwoLiveRowsForOneKeyAreRefused", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		pc := newPublisherConfiguration(t)
		require.NoError(t, store.UpsertPublisherConfiguration(bundle.ctx, bundle.tx, pc))

		// A plain insert bypasses the upsert's ON CONFLICT: the index itself
		// must refuse a second live row.
		dup := newPublisherConfiguration(t)
		dup.PublisherKey = pc.PublisherKey
		dup.ID = uuid.New()
		_, err := bundle.tx.NewInsert().Model(dup).Exec(bundle.ctx)
		err = store.InterpretError(err)
		require.ErrorIs(t, err, store.ErrConflict)
		require.Equal(t, "publisher_configuration_publisher_key_live_idx", store.ConstraintName(err))
	})

	t.Run("UnknownOrDeletedKeyIsNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		err := store.SoftDeletePublisherConfiguration(bundle.ctx, bundle.tx, "no-such-publisher", nil, time.Now())
		require.ErrorIs(t, err, store.ErrNotFound)

		pc := newPublisherConfiguration(t)
		require.NoError(t, store.UpsertPublisherConfiguration(bundle.ctx, bundle.tx, pc))
		require.NoError(t, store.SoftDeletePublisherConfiguration(bundle.ctx, bundle.tx, pc.PublisherKey, nil, time.Now()))
		err = store.SoftDeletePublisherConfiguration(bundle.ctx, bundle.tx, pc.PublisherKey, nil, time.Now())
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}
