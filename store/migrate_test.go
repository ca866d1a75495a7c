package store_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/migrations"
	"github.com/reviewdata/rd/store"
)

// migrateBundle is a store on an empty (never migrated) database and a
// Migrator over RD's migrations.
type migrateBundle struct {
	db       *bun.DB
	migrator *store.Migrator
}

func setupMigrate(t *testing.T) *migrateBundle {
	t.Helper()
	st, err := store.Open(t.Context(), store.Config{DatabaseURL: pgtest.NewEmptyDatabase(t), MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return &migrateBundle{db: st.DB, migrator: store.NewMigrator(st.DB, migrations.Migrations)}
}

// knownMigrations lists the embedded migrations' names in order.
func knownMigrations() []string {
	var names []string
	for _, m := range migrations.Migrations.Sorted() {
		names = append(names, m.String())
	}
	return names
}

func TestMigratorStatus(t *testing.T) {
	t.Parallel()
	bundle := setupMigrate(t)
	ctx := t.Context()
	require.Contains(t, knownMigrations(), "20261203000001_foundation")

	status, err := bundle.migrator.Status(ctx)
	require.NoError(t, err)
	require.Empty(t, status.Applied)
	require.Equal(t, knownMigrations(), status.Pending)
	require.Contains(t, status.String(), "pending  20261203000001_foundation")

	var initialised bool
	require.NoError(t, bundle.db.NewRaw("SELECT to_regclass('bun_migrations') IS NOT NULL").Scan(ctx, &initialised))
	require.False(t, initialised, "Status only reads: it must not create bun's tables")

	var out bytes.Buffer
	require.NoError(t, bundle.migrator.Up(ctx, &out))
	require.Contains(t, out.String(), "applied group #1")

	status, err = bundle.migrator.Status(ctx)
	require.NoError(t, err)
	require.Empty(t, status.Pending)
	require.Empty(t, status.Missing)
	require.Len(t, status.Applied, len(knownMigrations()))
	require.Equal(t, "20261203000001_foundation", status.Applied[0].Name)
	require.Equal(t, int64(1), status.Applied[0].Group)
	require.False(t, status.Applied[0].MigratedAt.IsZero())
	require.Contains(t, status.String(), "applied  20261203000001_foundation  (group 1, ")

	out.Reset()
	require.NoError(t, bundle.migrator.Down(ctx, &out))
	require.Contains(t, out.String(), "rolled back group #1")
	status, err = bundle.migrator.Status(ctx)
	require.NoError(t, err)
	require.Empty(t, status.Applied)
	require.Equal(t, knownMigrations(), status.Pending)
}

func TestMigratorUpAndDownWhenThereIsNothingToDo(t *testing.T) {
	t.Parallel()
	bundle := setupMigrate(t)
	ctx := t.Context()

	var out bytes.Buffer
	require.NoError(t, bundle.migrator.Down(ctx, &out))
	require.Contains(t, out.String(), "nothing to roll back")

	require.NoError(t, bundle.migrator.Up(ctx, nil))
	out.Reset()
	require.NoError(t, bundle.migrator.Up(ctx, &out))
	require.Contains(t, out.String(), "database is up to date")
}

func TestMigratorStatusReportsMissing(t *testing.T) {
	t.Parallel()
	bundle := setupMigrate(t)
	ctx := t.Context()
	require.NoError(t, bundle.migrator.Up(ctx, nil))

	// A binary that knows none of the applied migrations (an older build
	// after a newer one migrated) must say so rather than hide them.
	older := migrate.NewMigrations()
	older.Add(migrate.Migration{Name: "20200101000000", Comment: "ancient"})
	status, err := store.NewMigrator(bundle.db, older).Status(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"20200101000000_ancient"}, status.Pending)
	var applied []string
	for _, m := range migrations.Migrations.Sorted() {
		applied = append(applied, m.Name)
	}
	require.Equal(t, applied, status.Missing)
}

func TestMigratorRefusesWhileLocked(t *testing.T) {
	t.Parallel()
	bundle := setupMigrate(t)
	ctx := t.Context()

	// Another `rd migrate` holding bun's lock.
	other := migrate.NewMigrator(bundle.db, migrations.Migrations)
	require.NoError(t, other.Init(ctx))
	require.NoError(t, other.Lock(ctx))

	err := bundle.migrator.Up(ctx, nil)
	require.ErrorIs(t, err, store.ErrConflict)
	require.ErrorContains(t, err, "DELETE FROM bun_migration_locks")

	status, err := bundle.migrator.Status(ctx)
	require.NoError(t, err)
	require.Empty(t, status.Applied, "nothing ran without the lock")

	require.NoError(t, other.Unlock(ctx))
	require.NoError(t, bundle.migrator.Up(ctx, nil))
}

func TestCreateMigration(t *testing.T) {
	t.Parallel()

	t.Run("WritesAnApplicablePair", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		var out bytes.Buffer

		paths, err := store.CreateMigration(dir, "add_widgets", &out)
		require.NoError(t, err)
		require.Len(t, paths, 2)
		require.Regexp(t, regexp.MustCompile(`^[0-9]{14}_add_widgets\.tx\.up\.sql$`), filepath.Base(paths[0]))
		require.Regexp(t, regexp.MustCompile(`^[0-9]{14}_add_widgets\.tx\.down\.sql$`), filepath.Base(paths[1]))
		for _, p := range paths {
			require.Equal(t, dir, filepath.Dir(p))
			require.FileExists(t, p)
			require.Contains(t, out.String(), "created "+p)
		}

		// The templates must be valid SQL: bun discovers the pair and
		// applies and rolls it back.
		found := migrate.NewMigrations()
		require.NoError(t, found.Discover(os.DirFS(dir)))
		require.Len(t, found.Sorted(), 1)
		bundle := setupMigrate(t)
		migrator := store.NewMigrator(bundle.db, found)
		require.NoError(t, migrator.Up(t.Context(), nil))
		require.NoError(t, migrator.Down(t.Context(), nil))
	})

	t.Run("NeverOverwrites", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		now := time.Date(2026, 12, 24, 9, 30, 0, 0, time.UTC)
		upPath := filepath.Join(dir, "20261224093000_first.tx.up.sql")
		require.NoError(t, os.WriteFile(upPath, []byte("-- precious\n"), 0o644))

		_, err := store.CreateMigrationAt(dir, "first", now, nil)
		require.ErrorIs(t, err, os.ErrExist)
		content, err := os.ReadFile(upPath)
		require.NoError(t, err)
		require.Equal(t, "-- precious\n", string(content))

		// A clash on the down file must not leave a lone up file behind.
		downPath := filepath.Join(dir, "20261224093000_second.tx.down.sql")
		require.NoError(t, os.WriteFile(downPath, []byte("-- precious\n"), 0o644))
		_, err = store.CreateMigrationAt(dir, "second", now, nil)
		require.ErrorIs(t, err, os.ErrExist)
		require.NoFileExists(t, filepath.Join(dir, "20261224093000_second.tx.up.sql"))
	})

	t.Run("NamesFilesByUTCTime", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		local := time.Date(2026, 12, 24, 1, 30, 0, 0, time.FixedZone("PST", -8*60*60))
		paths, err := store.CreateMigrationAt(dir, "add_widgets", local, nil)
		require.NoError(t, err)
		require.Equal(t, []string{
			filepath.Join(dir, "20261224093000_add_widgets.tx.up.sql"),
			filepath.Join(dir, "20261224093000_add_widgets.tx.down.sql"),
		}, paths)
	})

	for _, name := range []string{"", "Add_Widgets", "add-widgets", "../escape", "add widgets", "_leading"} {
		t.Run("RefusesName"+name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, err := store.CreateMigration(dir, name, nil)
			require.ErrorContains(t, err, "is invalid")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries)
		})
	}

	t.Run("MissingFolder", func(t *testing.T) {
		t.Parallel()
		_, err := store.CreateMigration(filepath.Join(t.TempDir(), "nope"), "add_widgets", nil)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}
