package pgtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/store"
)

// databaseExists asks the admin connection whether name exists.
func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	pool, err := adminPool()
	require.NoError(t, err)
	var exists bool
	require.NoError(t, pool.QueryRow(t.Context(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists))
	return exists
}

// currentDatabase returns the name of the database st is connected to.
func currentDatabase(t *testing.T, st *store.Store) string {
	t.Helper()
	var name string
	require.NoError(t, st.DB.NewRaw("SELECT current_database()").Scan(t.Context(), &name))
	return name
}

func TestNewDatabase(t *testing.T) {
	t.Parallel()
	var name string

	t.Run("Inner", func(t *testing.T) {
		st := NewStore(t)
		name = currentDatabase(t, st)
		require.Regexp(t, nameRE, name)

		var migrated bool
		require.NoError(t, st.DB.NewRaw("SELECT to_regclass('api_keys') IS NOT NULL").Scan(t.Context(), &migrated))
		require.True(t, migrated, "NewDatabase applies the migrations")
		require.True(t, databaseExists(t, name))
	})

	// The subtest's cleanup has run: its database must be gone.
	require.NotEmpty(t, name)
	require.False(t, databaseExists(t, name))
}

func TestNewEmptyDatabase(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.Context(), store.Config{DatabaseURL: NewEmptyDatabase(t)})
	require.NoError(t, err)
	defer st.Close()

	var tables int
	require.NoError(t, st.DB.NewRaw("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(t.Context(), &tables))
	require.Zero(t, tables)
}

func TestNewTxRollsBack(t *testing.T) {
	t.Parallel()
	requestID := fmt.Sprintf("pgtest-rollback-%d", time.Now().UnixNano())

	t.Run("Inner", func(t *testing.T) {
		tx := NewTx(t)
		require.NoError(t, store.InsertInboundRequest(t.Context(), tx, &store.InboundRequest{
			RequestID: requestID, Endpoint: "POST /x", Payload: []byte(`{}`),
		}))
		_, err := store.GetInboundRequest(t.Context(), tx, requestID)
		require.NoError(t, err)
	})

	_, err := store.GetInboundRequest(t.Context(), NewTx(t), requestID)
	require.ErrorIs(t, err, store.ErrNotFound, "the first test's transaction was rolled back")
}

func TestUnreachableServerNamesTaskTest(t *testing.T) {
	t.Parallel()
	_, err := connectAdmin(t.Context(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	require.ErrorContains(t, err, "go tool task test")
	require.ErrorContains(t, err, "TEST_DATABASE_URL")
}

func TestSweepStaleDropsOnlyOldUnusedTestDatabases(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool, err := adminPool()
	require.NoError(t, err)

	old := fmt.Sprintf("rd_test_sweep_%d_%08x", time.Now().Add(-time.Hour).Unix(), time.Now().UnixNano()&0xffffffff)
	fresh := newName()
	for _, name := range []string{old, fresh} {
		_, err := pool.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = dropDatabase(context.Background(), name, true) })
	}

	sweepStale(ctx, pool)
	require.False(t, databaseExists(t, old), "an hour-old database nobody uses is dropped")
	require.True(t, databaseExists(t, fresh), "a just-created database is kept")
}

func TestNameRoundTrip(t *testing.T) {
	t.Parallel()
	before := time.Now().Add(-time.Second)
	name := newName()
	require.LessOrEqual(t, len(name), 63, "PostgreSQL truncates longer names")
	created, ok := createdAt(name)
	require.True(t, ok, name)
	require.False(t, created.Before(before.Truncate(time.Second)))

	_, ok = createdAt("rd_test_store_notatime_deadbeef")
	require.False(t, ok)
	_, ok = createdAt("production")
	require.False(t, ok)
}

func TestDatabaseURL(t *testing.T) {
	t.Parallel()
	got, err := databaseURL("postgres://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable", "rd_test_x")
	require.NoError(t, err)
	require.Equal(t, "postgres://postgres:pw@127.0.0.1:5432/rd_test_x?sslmode=disable", got)

	_, err = databaseURL("host=127.0.0.1 dbname=postgres", "rd_test_x")
	require.ErrorContains(t, err, "must be a postgres:// URL")
}
