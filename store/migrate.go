package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// migrationsTable is bun's default name for the applied-migrations table.
const migrationsTable = "bun_migrations"

// Migrator applies and rolls back RD's SQL migrations with bun/migrate. Up
// and Down run under bun's migration lock, so two `rd migrate` processes
// cannot interleave; the second fails with an error that wraps ErrConflict.
type Migrator struct {
	m          *migrate.Migrator
	migrations *migrate.Migrations
}

// NewMigrator returns a Migrator that applies migrations (normally
// migrations.Migrations, the embedded set) to db.
func NewMigrator(db *bun.DB, migrations *migrate.Migrations) *Migrator {
	// Mark a migration applied only once it succeeded: bun's default marks it
	// first, so a failed migration would be recorded as applied and skipped.
	return &Migrator{
		m:          migrate.NewMigrator(db, migrations, migrate.WithMarkAppliedOnSuccess(true)),
		migrations: migrations,
	}
}

// Up creates bun's bookkeeping tables if needed, then applies every pending
// migration as one group, and reports what it did to w (nil discards).
//
// It returns an error wrapping ErrConflict when another migration holds the
// lock, and the failing migration's error otherwise; migrations applied
// before the failing one stay applied.
func (m *Migrator) Up(ctx context.Context, w io.Writer) error {
	return m.locked(ctx, func() error {
		group, err := m.m.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("store: migrate up: %w", err)
		}
		if group.IsZero() {
			return say(w, "database is up to date: no pending migrations\n")
		}
		return say(w, "applied %s\n", group)
	})
}

// Down rolls back the last group of migrations that Up applied and reports
// what it did to w (nil discards). With nothing applied it is a no-op.
//
// It returns an error wrapping ErrConflict when another migration holds the
// lock, and the failing down migration's error otherwise.
func (m *Migrator) Down(ctx context.Context, w io.Writer) error {
	return m.locked(ctx, func() error {
		group, err := m.m.Rollback(ctx)
		if err != nil {
			return fmt.Errorf("store: migrate down: %w", err)
		}
		if group.IsZero() {
			return say(w, "nothing to roll back: no migrations are applied\n")
		}
		return say(w, "rolled back %s\n", group)
	})
}

// locked runs fn between Init+Lock and Unlock.
func (m *Migrator) locked(ctx context.Context, fn func() error) error {
	if err := m.m.Init(ctx); err != nil {
		return fmt.Errorf("store: create migration tables: %w", interpretError(err))
	}
	if err := m.m.Lock(ctx); err != nil {
		// bun's lock is a row, not a session lock: a process killed while
		// migrating leaves it behind, so say how to clear it by hand.
		return fmt.Errorf("%w (if no other `rd migrate` is running, a crashed one left its lock: run DELETE FROM bun_migration_locks)",
			interpretError(err))
	}
	err := fn()
	// Unlock even when ctx was cancelled (Ctrl-C mid-migration); otherwise
	// the lock row outlives us and blocks every later run.
	if unlockErr := m.m.Unlock(context.WithoutCancel(ctx)); unlockErr != nil {
		err = errors.Join(err, fmt.Errorf("store: release migration lock: %w", unlockErr))
	}
	return err
}

// say writes to w unless w is nil.
func say(w io.Writer, format string, args ...any) error {
	if w == nil {
		return nil
	}
	_, err := fmt.Fprintf(w, format, args...)
	return err
}

// AppliedMigration is one migration recorded in the database.
type AppliedMigration struct {
	// Name is the migration's file name stem, like 20261203000001_foundation.
	Name string
	// Group is the Up run that applied it; Down rolls back the highest group.
	Group int64
	// MigratedAt is when it was applied.
	MigratedAt time.Time
}

// MigrationStatus is what Status reports. Its String method prints it for
// `rd migrate status`.
type MigrationStatus struct {
	// Applied lists applied migrations, oldest first.
	Applied []AppliedMigration
	// Pending lists the names of known migrations not yet applied, in the
	// order Up will apply them.
	Pending []string
	// Missing lists migrations recorded as applied that this binary does not
	// contain (applied by a newer build, or deleted from the folder).
	Missing []string
}

// String renders the status one migration per line.
func (s MigrationStatus) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "applied: %d, pending: %d\n", len(s.Applied), len(s.Pending))
	for _, a := range s.Applied {
		fmt.Fprintf(&b, "  applied  %s  (group %d, %s)\n", a.Name, a.Group, a.MigratedAt.UTC().Format(time.RFC3339))
	}
	for _, name := range s.Pending {
		fmt.Fprintf(&b, "  pending  %s\n", name)
	}
	for _, name := range s.Missing {
		fmt.Fprintf(&b, "  missing  %s  (applied, but not in this binary)\n", name)
	}
	return b.String()
}

// Status reports which migrations are applied and which are pending. It only
// reads: on a database that was never migrated (no bun_migrations table) every
// migration is pending. It returns the driver's error when the query fails.
func (m *Migrator) Status(ctx context.Context) (MigrationStatus, error) {
	initialised, err := m.tableExists(ctx)
	if err != nil {
		return MigrationStatus{}, err
	}
	if !initialised {
		return statusOf(m.migrations.Sorted(), nil), nil
	}
	all, err := m.m.MigrationsWithStatus(ctx)
	if err != nil {
		return MigrationStatus{}, fmt.Errorf("store: migration status: %w", interpretError(err))
	}
	missing, err := m.m.MissingMigrations(ctx)
	if err != nil {
		return MigrationStatus{}, fmt.Errorf("store: migration status: %w", interpretError(err))
	}
	return statusOf(all, missing), nil
}

// tableExists reports whether bun's applied-migrations table exists yet.
func (m *Migrator) tableExists(ctx context.Context) (bool, error) {
	var exists bool
	err := m.m.DB().NewRaw("SELECT to_regclass(?) IS NOT NULL", migrationsTable).Scan(ctx, &exists)
	if err != nil {
		return false, fmt.Errorf("store: migration status: %w", interpretError(err))
	}
	return exists, nil
}

// statusOf splits known migrations (sorted, with status) into applied and
// pending, and lists the missing ones by name.
func statusOf(all, missing migrate.MigrationSlice) MigrationStatus {
	var s MigrationStatus
	for _, mig := range all {
		if mig.IsApplied() {
			s.Applied = append(s.Applied, AppliedMigration{Name: mig.String(), Group: mig.GroupID, MigratedAt: mig.MigratedAt})
		} else {
			s.Pending = append(s.Pending, mig.String())
		}
	}
	for _, mig := range missing {
		s.Missing = append(s.Missing, mig.Name)
	}
	return s
}

// migrationNameRE is what a new migration's name may contain; bun parses the
// file name back with a pattern that allows exactly these characters.
var migrationNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)

const upTemplate = `-- %s: describe what this migration changes and why.
-- The .tx. in the file name makes bun run this file in one transaction with
-- the other statements: keep it transactional (no CREATE INDEX CONCURRENTLY).
-- Statements are separated by semicolons as usual.
`

const downTemplate = `-- %s: undo exactly what the matching .tx.up.sql did, in reverse order,
-- so that up -> down -> up leaves the schema as it was.
`

// CreateMigration writes a new, empty migration pair into dir (the source
// folder migrations/, which the binary embeds): <UTC timestamp>_<name>.tx.up.sql
// and .tx.down.sql. It prints the paths to w (nil discards) and returns them.
//
// name must be lower-case letters, digits and underscores, starting with a
// letter or digit. It returns an error when name is invalid, dir does not
// exist, or a file of that name already exists (it never overwrites).
func CreateMigration(dir, name string, w io.Writer) ([]string, error) {
	return createMigrationAt(dir, name, time.Now(), w)
}

// createMigrationAt is CreateMigration with the clock passed in, for tests.
func createMigrationAt(dir, name string, now time.Time, w io.Writer) ([]string, error) {
	if !migrationNameRE.MatchString(name) {
		return nil, fmt.Errorf("store: migration name %q is invalid: use lower-case letters, digits and underscores, like add_scrape_jobs", name)
	}
	// bun orders migrations by this 14-digit prefix; UTC keeps the order
	// the same on every developer's machine.
	stem := now.UTC().Format("20060102150405") + "_" + name
	paths := []string{
		filepath.Join(dir, stem+".tx.up.sql"),
		filepath.Join(dir, stem+".tx.down.sql"),
	}
	if err := writeNewFile(paths[0], fmt.Sprintf(upTemplate, stem)); err != nil {
		return nil, err
	}
	if err := writeNewFile(paths[1], fmt.Sprintf(downTemplate, stem)); err != nil {
		// An up file without its down would be applied but never undone.
		_ = os.Remove(paths[0])
		return nil, err
	}
	return paths, say(w, "created %s\ncreated %s\n", paths[0], paths[1])
}

// writeNewFile creates path with content, failing if it already exists.
func writeNewFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("store: create migration file: %w", err)
	}
	if _, err := f.WriteString(content); err != nil {
		_ = f.Close()
		return fmt.Errorf("store: write migration file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: write migration file: %w", err)
	}
	return nil
}
