package migrations_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/migrations"
	"github.com/reviewdata/rd/store"
)

// testBundle is a store on an empty database and a Migrator over the
// embedded migrations.
type testBundle struct {
	ctx      context.Context
	db       *bun.DB
	migrator *store.Migrator
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	st, err := store.Open(t.Context(), store.Config{DatabaseURL: pgtest.NewEmptyDatabase(t), MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return &testBundle{ctx: t.Context(), db: st.DB, migrator: store.NewMigrator(st.DB, migrations.Migrations)}
}

// TestEveryMigrationHasUpAndDown guards the naming convention: a migration
// without a down file could be applied but never rolled back.
func TestEveryMigrationHasUpAndDown(t *testing.T) {
	t.Parallel()
	sorted := migrations.Migrations.Sorted()
	require.NotEmpty(t, sorted)
	nameRE := regexp.MustCompile(`^[0-9]{14}$`)
	for _, m := range sorted {
		require.Regexp(t, nameRE, m.Name, "%s: names start with a 14-digit UTC timestamp", m)
		require.NotNil(t, m.Up, "%s has no .tx.up.sql", m)
		require.NotNil(t, m.Down, "%s has no .tx.down.sql", m)
	}
}

// TestUpDownUpLeavesSchemaIdentical proves every down migration undoes its up
// exactly: after up -> down the RD tables are gone, and a second up rebuilds
// the same columns, indexes, constraints and comments.
func TestUpDownUpLeavesSchemaIdentical(t *testing.T) {
	t.Parallel()
	bundle := setup(t)

	require.NoError(t, bundle.migrator.Up(bundle.ctx, nil))
	first := schemaSnapshot(t, bundle)
	// Sanity: the snapshot sees what the foundation migration creates, so an
	// empty-equals-empty comparison cannot pass by accident.
	for _, want := range []string{
		"column api_keys.key_hash bytea",
		"column inbound_request.payload jsonb",
		"index publisher_configuration_publisher_key_live_idx: CREATE UNIQUE INDEX",
		"index api_keys_active_prefix_idx: CREATE INDEX",
		"constraint api_keys.api_keys_scrape_priority_check: CHECK",
		"comment api_keys.key_hash: SHA-256",
	} {
		require.True(t, containsPrefix(first, want), "snapshot lacks %q", want)
	}

	require.NoError(t, bundle.migrator.Down(bundle.ctx, nil))
	require.Equal(t, []string{"bun_migration_locks", "bun_migrations"}, publicTables(t, bundle),
		"down leaves only bun's bookkeeping tables")

	require.NoError(t, bundle.migrator.Up(bundle.ctx, nil))
	require.Equal(t, first, schemaSnapshot(t, bundle))
}

// schemaSnapshot describes the public schema one sorted line per column,
// index, constraint and comment.
func schemaSnapshot(t *testing.T, bundle *testBundle) []string {
	t.Helper()
	var lines []string
	err := bundle.db.NewRaw(`
		SELECT format('column %s.%s %s position=%s nullable=%s default=%s',
		              table_name, column_name, data_type, ordinal_position, is_nullable, column_default)
		FROM information_schema.columns WHERE table_schema = 'public'
		UNION ALL
		SELECT format('index %s: %s', indexname, indexdef)
		FROM pg_indexes WHERE schemaname = 'public'
		UNION ALL
		SELECT format('constraint %s.%s: %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace
		UNION ALL
		SELECT format('comment %s%s: %s', c.relname, '.' || a.attname, d.description)
		FROM pg_description d
		JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
		WHERE c.relnamespace = 'public'::regnamespace
		ORDER BY 1`).Scan(bundle.ctx, &lines)
	require.NoError(t, err)
	return lines
}

// publicTables lists the tables in the public schema, sorted.
func publicTables(t *testing.T, bundle *testBundle) []string {
	t.Helper()
	var tables []string
	require.NoError(t, bundle.db.NewRaw(
		"SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").Scan(bundle.ctx, &tables))
	return tables
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
