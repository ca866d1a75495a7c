package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reviewdata/rd/cmd/internal/app"
	"github.com/reviewdata/rd/internal/devs3"
	"github.com/reviewdata/rd/internal/publisher/sandbox"
	"github.com/reviewdata/rd/migrations"
	"github.com/reviewdata/rd/store"
	temporaldev "github.com/reviewdata/rd/temporal-dev"
)

// stack is the set of parts the dev process runs, started in dependency
// order and stopped in reverse.
type stack struct {
	logger   *slog.Logger
	temporal *temporaldev.Server
	s3       *devs3.Server
	deps     *app.Deps
	apiAddr  string

	sandbox     *http.Server
	sandboxAddr string
}

func (s *stack) start(ctx context.Context, cfg app.Config, dev devConfig) error {
	if err := ensureDatabase(ctx, cfg.Store.DatabaseURL); err != nil {
		return err
	}
	var err error
	s.temporal, err = temporaldev.Start(temporaldev.Config{
		DatabaseFile: filepath.Join(dev.dir, "temporal.db"),
		FrontendAddr: dev.temporalAddr,
		UIAddr:       dev.uiAddr,
		Logger:       s.logger,
		LogLevel:     temporalLogLevel(cfg),
	})
	if err != nil {
		return err
	}
	if s.s3, err = devs3.Start(dev.s3Addr, filepath.Join(dev.dir, "s3.db")); err != nil {
		return err
	}
	if s.sandbox, s.sandboxAddr, err = sandbox.NewServer(dev.sandboxAddr); err != nil {
		return err
	}
	if s.deps, err = app.Open(ctx, cfg, s.logger); err != nil {
		return err
	}
	if err := store.NewMigrator(s.deps.Store.DB, migrations.Migrations).Up(ctx, logWriter{s.logger}); err != nil {
		return err
	}
	if err := seedPublishers(ctx, s.deps.Store); err != nil {
		return err
	}
	return s.deps.Blob.EnsureBucket(ctx)
}

// sandboxQueue is the sandbox publisher's task queue; the dev worker polls it.
const sandboxQueue = "scrape-sandbox"

// seedPublishers configures the sandbox publisher, so a fresh dev stack can
// scrape it at once. It upserts on every start: edits to the sandbox row
// last until the next restart.
func seedPublishers(ctx context.Context, st *store.Store) error {
	err := store.UpsertPublisherConfiguration(ctx, st.DB, &store.PublisherConfiguration{
		PublisherKey:  "sandbox",
		DisplayName:   "Sandbox publisher (dev)",
		ScraperEngine: store.ScraperEngineSAU,
		PostingMode:   store.PostingModeAutomated,
		AuthType:      store.AuthTypeCredentials,
		BrowserBacked: false,
		TaskQueue:     sandboxQueue,
		Active:        true,
	})
	if err != nil {
		return fmt.Errorf("seed the sandbox publisher: %w", err)
	}
	return nil
}

// serve runs the API and the platform worker until ctx ends or one of them
// fails; ready runs once the API listens.
func (s *stack) serve(ctx context.Context, cfg app.Config, ready func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() {
		errc <- app.ServeAPI(ctx, cfg, s.deps, func(addr string) { s.apiAddr = addr; ready() })
	}()
	go func() { errc <- app.RunWorker(ctx, cfg, s.deps) }()
	first := <-errc
	cancel()
	return errors.Join(first, <-errc)
}

// stop releases everything that started, giving up after stopTimeout so
// Ctrl-C always returns the terminal promptly.
func (s *stack) stop() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s.deps != nil {
			s.deps.Close()
		}
		if s.sandbox != nil {
			// Close, not Shutdown: a slow- business may hold a request open.
			_ = s.sandbox.Close()
		}
		if s.s3 != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := s.s3.Stop(ctx); err != nil {
				s.logger.Warn("stopping s3", "error", err)
			}
		}
		if s.temporal != nil {
			s.temporal.Stop()
		}
	}()
	select {
	case <-done:
		s.logger.Info("dev stack stopped")
	case <-time.After(stopTimeout):
		s.logger.Warn("dev stack did not stop in time; exiting anyway", "timeout", stopTimeout)
	}
}

// ensureDatabase creates the application database when the local server
// does not have it yet, so a fresh machine needs no manual step.
func ensureDatabase(ctx context.Context, databaseURL string) error {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	name := u.Path[min(1, len(u.Path)):]
	if name == "" {
		return errors.New("DATABASE_URL names no database: add one, e.g. .../rd")
	}
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL at %s (is it running? `go tool task dev` starts it): %w", u.Host, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// redactURL hides a password before a URL is printed.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// logWriter turns the migrator's printed lines into log lines.
type logWriter struct{ logger *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.logger.Info("migrate: " + string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
