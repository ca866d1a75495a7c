// Package pgtest gives tests real, isolated PostgreSQL databases with RD's
// migrations applied.
//
// NewDatabase (and NewStore) create a fresh database per call and drop it
// when the test ends: use them where a test needs commits, migrations of its
// own, or several connections. NewTx is far cheaper and is what most store
// and service tests want: one transaction, rolled back when the test ends, on
// a migrated database shared by the whole test binary.
//
// The server comes from TEST_DATABASE_URL, an admin URL (a role allowed to
// CREATE DATABASE). When it is unset, DefaultAdminURL is used. When the server
// cannot be reached the test fails, naming `go tool task test` (which starts
// PostgreSQL), rather than skipping: a skipped database test passes silently.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uptrace/bun"

	"github.com/reviewdata/rd/migrations"
	"github.com/reviewdata/rd/store"
)

// DefaultAdminURL is used when TEST_DATABASE_URL is unset. The password is
// ignored under trust authentication and matches what `go tool task test`
// sets up where the server asks for one.
const DefaultAdminURL = "postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"

// namePrefix starts every database this package creates; the stale-database
// sweep only ever touches names with it.
const namePrefix = "rd_test_"

// staleAfter is how old an unconnected test database must be before a sweep
// drops it, so a database another test binary just created, and has not
// connected to yet, is left alone.
const staleAfter = 10 * time.Minute

// AdminURL returns TEST_DATABASE_URL, or DefaultAdminURL when it is unset.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// NewDatabase creates a fresh, uniquely named database, applies every
// migration, and returns its URL. The database is dropped (WITH (FORCE),
// so connections left open do not block it) when tb ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	dbURL := NewEmptyDatabase(tb)
	migrate(tb, dbURL)
	return dbURL
}

// NewEmptyDatabase is NewDatabase without the migrations, for tests of the
// migrations themselves.
func NewEmptyDatabase(tb testing.TB) string {
	tb.Helper()
	name, dbURL := createDatabase(tb)
	tb.Cleanup(func() {
		if err := dropDatabase(context.Background(), name, true); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dbURL
}

// NewStore opens a store.Store on a fresh migrated database (NewDatabase) and
// closes it when tb ends.
func NewStore(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), store.Config{DatabaseURL: NewDatabase(tb), MaxConns: 4})
	if err != nil {
		tb.Fatalf("pgtest: open store: %v", err)
	}
	tb.Cleanup(st.Close)
	return st
}

// NewTx begins a transaction on a migrated database shared by every test of
// the binary and rolls it back when tb ends, so tests see none of each
// other's writes and may run in parallel. Each transaction holds one
// connection until the test ends.
//
// Never commit it: later tests would see the rows. Prefer random values in
// unique columns: two open transactions inserting the same unique value make
// the second wait until the first test ends.
func NewTx(tb testing.TB) bun.Tx {
	tb.Helper()
	db := sharedDB(tb)
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		tb.Fatalf("pgtest: begin transaction: %v", err)
	}
	tb.Cleanup(func() {
		// A test may end its transaction itself; anything else is a defect
		// in the test worth reporting.
		if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			tb.Errorf("pgtest: roll back test transaction: %v", err)
		}
	})
	return tx
}

var (
	sharedOnce  sync.Once
	sharedStore *store.Store
	sharedConn  bun.Conn // held for the process's life; see sharedDB
	sharedErr   error
)

// sharedDB returns the binary's shared migrated database, creating it on
// first use. This process never drops it (no hook runs after the last test);
// a later run's sweep does, once the process has exited.
func sharedDB(tb testing.TB) *bun.DB {
	tb.Helper()
	sharedOnce.Do(func() {
		sharedErr = func() error {
			name, dbURL, err := create(context.Background())
			if err != nil {
				return err
			}
			if err := migrateURL(context.Background(), dbURL); err != nil {
				return fmt.Errorf("migrate %s: %w", name, err)
			}
			sharedStore, err = store.Open(context.Background(), store.Config{DatabaseURL: dbURL, MaxConns: 20})
			if err != nil {
				return err
			}
			// The sweep drops databases nobody is connected to; holding one
			// connection marks this one as in use for as long as we live.
			sharedConn, err = sharedStore.DB.Conn(context.Background())
			return err
		}()
	})
	if sharedErr != nil {
		tb.Fatalf("pgtest: shared test database: %v", sharedErr)
	}
	return sharedStore.DB
}

// migrate applies every migration to the database at dbURL.
func migrate(tb testing.TB, dbURL string) {
	tb.Helper()
	if err := migrateURL(context.Background(), dbURL); err != nil {
		tb.Fatalf("pgtest: apply migrations: %v", err)
	}
}

func migrateURL(ctx context.Context, dbURL string) error {
	st, err := store.Open(ctx, store.Config{DatabaseURL: dbURL, MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	return store.NewMigrator(st.DB, migrations.Migrations).Up(ctx, nil)
}

// createDatabase creates a database for tb, failing tb if it cannot.
func createDatabase(tb testing.TB) (name, dbURL string) {
	tb.Helper()
	name, dbURL, err := create(context.Background())
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return name, dbURL
}

// create makes a new empty database and returns its name and URL.
func create(ctx context.Context) (name, dbURL string, err error) {
	pool, err := adminPool()
	if err != nil {
		return "", "", err
	}
	name = newName()
	// template0, not the default template1: CREATE DATABASE fails while any
	// other session is connected to its template, and nobody connects to
	// template0, so parallel tests cannot trip over each other.
	if _, err := pool.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		return "", "", fmt.Errorf("create database %s: %w", name, err)
	}
	dbURL, err = databaseURL(AdminURL(), name)
	return name, dbURL, err
}

// dropDatabase drops name; force also ends the sessions still connected.
func dropDatabase(ctx context.Context, name string, force bool) error {
	pool, err := adminPool()
	if err != nil {
		return err
	}
	return dropWith(ctx, pool, name, force)
}

// dropWith is dropDatabase on a given pool: the sweep runs while adminPool is
// still being built, so it must not call adminPool (a sync.Once deadlock).
func dropWith(ctx context.Context, pool *pgxpool.Pool, name string, force bool) error {
	sql := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize()
	if force {
		sql += " WITH (FORCE)"
	}
	_, err := pool.Exec(ctx, sql)
	return err
}

var (
	adminOnce    sync.Once
	adminPoolVal *pgxpool.Pool
	adminErr     error
)

// adminPool returns the process's connection pool to the admin database,
// connecting (and sweeping stale databases) on first use. Like River's test
// pool it lives as long as the test binary.
func adminPool() (*pgxpool.Pool, error) {
	adminOnce.Do(func() {
		adminPoolVal, adminErr = connectAdmin(context.Background(), AdminURL())
		if adminErr == nil {
			sweepStale(context.Background(), adminPoolVal)
		}
	})
	return adminPoolVal, adminErr
}

// connectAdmin connects to adminURL and checks the server answers.
func connectAdmin(ctx context.Context, adminURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(adminURL)
	if err != nil {
		return nil, fmt.Errorf("TEST_DATABASE_URL is not a valid PostgreSQL URL (%w): set it to an admin URL like %s", err, DefaultAdminURL)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("PostgreSQL is not reachable at %s:%d (%w). Run the tests with `go tool task test`, which starts PostgreSQL, "+
			"or point TEST_DATABASE_URL at a running server's admin URL", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// sweepStale drops test databases that earlier runs left behind: those
// created more than staleAfter ago that no session is connected to. Only a
// crashed or killed test leaves one, plus each binary's shared database.
// Failures are ignored: the sweep is housekeeping, racing other binaries.
func sweepStale(ctx context.Context, pool *pgxpool.Pool) {
	rows, err := pool.Query(ctx, `
		SELECT datname FROM pg_database d
		WHERE datname LIKE $1
		  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`,
		strings.ReplaceAll(namePrefix, "_", `\_`)+"%")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		if created, ok := createdAt(name); ok && time.Since(created) > staleAfter {
			// No FORCE: if a session connected since the query, keep it.
			_ = dropWith(ctx, pool, name, false)
		}
	}
}

// nameRE matches the names newName makes, capturing the creation time.
var nameRE = regexp.MustCompile(`^rd_test_[a-z0-9_]*_([0-9]{10})_[0-9a-f]{8}$`)

// newName returns rd_test_<package>_<unix seconds>_<random>, like
// rd_test_store_1764720000_3fa2b1c9: the package makes a leftover easy to
// trace, the time lets the sweep judge its age.
func newName() string {
	return fmt.Sprintf("%s%s_%d_%08x", namePrefix, packageName(), time.Now().Unix(), rand.Uint32())
}

// createdAt parses the creation time out of a name newName made.
func createdAt(name string) (time.Time, bool) {
	m := nameRE.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(secs, 0), true
}

// packageName derives a short tag from the test binary's name, which go test
// makes "<package>.test".
func packageName() string {
	base := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	base = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '_'
	}, base)
	// PostgreSQL truncates names at 63 bytes; the rest of the name takes 28.
	if len(base) > 20 {
		base = base[:20]
	}
	return base
}

// databaseURL returns adminURL pointed at database name instead.
func databaseURL(adminURL, name string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("TEST_DATABASE_URL must be a postgres:// URL, like %s", DefaultAdminURL)
	}
	u.Path = "/" + name
	return u.String(), nil
}
