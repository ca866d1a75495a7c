// Package store is RD's PostgreSQL layer: the bun models, small query
// functions over them, the translation of driver errors into store sentinels,
// and the migration runner.
//
// Query functions take a bun.IDB rather than a *Store so that a service can
// run several of them inside one transaction (bun's tx-composition pattern):
//
//	err := st.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
//		if err := store.InsertInboundRequest(ctx, tx, req); err != nil {
//			return err
//		}
//		return store.InsertScrapeJob(ctx, tx, job)
//	})
//
// Every error a query function returns that a caller may branch on wraps one
// of the sentinels in errors.go (ErrNotFound, ErrConflict, ErrInvalid); raw
// driver errors never need to be inspected outside this package.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// fixDatabaseURL is appended to configuration errors so the operator knows
// what to change, not just what went wrong.
const fixDatabaseURL = "set DATABASE_URL to postgres://USER:PASSWORD@HOST:5432/DBNAME?sslmode=disable"

// Config configures Open. A zero field other than DatabaseURL means its
// default.
type Config struct {
	// DatabaseURL is the PostgreSQL connection URL, for example
	// postgres://rd:secret@localhost:5432/rd?sslmode=disable. Required.
	DatabaseURL string

	// MaxConns caps the connections the pool opens. It overrides any
	// pool_max_conns parameter in DatabaseURL. Defaults to 10.
	MaxConns int32

	// ConnectTimeout bounds dialing one connection and the first ping that
	// Open performs, so a wrong host fails fast instead of hanging start-up.
	// Defaults to 5 seconds.
	ConnectTimeout time.Duration

	// ApplicationName is reported to PostgreSQL and shows in
	// pg_stat_activity, which tells the API's connections from the workers'.
	// Defaults to DatabaseURL's application_name parameter, or else "rd".
	ApplicationName string
}

const (
	defaultMaxConns        = 10
	defaultConnectTimeout  = 5 * time.Second
	defaultApplicationName = "rd"
)

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.MaxConns == 0 {
		c.MaxConns = defaultMaxConns
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = defaultConnectTimeout
	}
	return c
}

// poolConfig validates c (defaults applied) and builds the pgx pool config.
func (c Config) poolConfig() (*pgxpool.Config, error) {
	if c.DatabaseURL == "" {
		return nil, errors.New("store: DatabaseURL is required: " + fixDatabaseURL)
	}
	if c.MaxConns < 0 {
		return nil, fmt.Errorf("store: MaxConns is %d: set it to a positive number, or 0 for the default of %d", c.MaxConns, defaultMaxConns)
	}
	if c.ConnectTimeout < 0 {
		return nil, fmt.Errorf("store: ConnectTimeout is %s: set it to a positive duration, or 0 for the default of %s", c.ConnectTimeout, defaultConnectTimeout)
	}
	pc, err := pgxpool.ParseConfig(c.DatabaseURL)
	if err != nil {
		// pgconn redacts the password in its parse errors, so err is safe to show.
		return nil, fmt.Errorf("store: DatabaseURL is not a valid PostgreSQL URL (%w): %s", err, fixDatabaseURL)
	}
	pc.MaxConns = c.MaxConns
	pc.ConnConfig.ConnectTimeout = c.ConnectTimeout
	if c.ApplicationName != "" {
		pc.ConnConfig.RuntimeParams["application_name"] = c.ApplicationName
	} else if pc.ConnConfig.RuntimeParams["application_name"] == "" {
		pc.ConnConfig.RuntimeParams["application_name"] = defaultApplicationName
	}
	// bun interpolates every argument into the SQL text, so almost every
	// query text is unique. pgx's default mode would prepare and cache each
	// one (an extra round trip and server memory per text, churning a
	// 512-entry cache); QueryExecModeExec sends each query once, unprepared.
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	return pc, nil
}

// Store is RD's handle on PostgreSQL: one pgx pool, wrapped in bun. Build it
// once at start-up with Open and pass it down; close it at shutdown.
type Store struct {
	// DB is the bun handle on the pool. Pass it, or the bun.Tx that
	// DB.RunInTx hands out, to the query functions of this package.
	DB *bun.DB

	pool *pgxpool.Pool
}

// Open validates cfg, opens a connection pool, and pings the server.
//
// It returns an error that says how to fix the problem when DatabaseURL is
// missing or malformed, and an error naming the host and database (never the
// password) when the server cannot be reached within cfg.ConnectTimeout.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	pc, err := cfg.poolConfig()
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("store: create connection pool: %w", err)
	}
	s := &Store{DB: bun.NewDB(stdlib.OpenDBFromPool(pool), pgdialect.New()), pool: pool}

	pingCtx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: cannot reach PostgreSQL at %s:%d, database %q (%w): check DATABASE_URL and that the server is running",
			pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database, err)
	}
	return s, nil
}

// Ping checks that a connection can be acquired and the server answers. It
// returns the driver's error (or ctx's) when it cannot.
func (s *Store) Ping(ctx context.Context) error {
	return s.DB.PingContext(ctx)
}

// Close releases every connection. Closing the database/sql handle does not
// close a pgx pool it was opened from, so both are closed here. Call it once,
// after the last query.
func (s *Store) Close() {
	// OpenDBFromPool's *sql.DB only returns its borrowed connections on
	// Close and never fails; the pool is what really holds the sockets.
	_ = s.DB.Close()
	s.pool.Close()
}
