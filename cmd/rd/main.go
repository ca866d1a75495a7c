// Command rd runs ReviewData's production processes: the API, the workers and
// database migrations. It talks to an external Temporal cluster and never
// links the Temporal server (the dev all-in-one, cmd/rd-dev, does that).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/reviewdata/rd/cmd/internal/app"
	"github.com/reviewdata/rd/internal/buildinfo"
	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/migrations"
	"github.com/reviewdata/rd/store"
)

const usage = `usage: rd <command> [arguments]

commands:
  api                      serve the HTTP API
  worker [--queues a,b]    run workers for the platform task queues (or the ones named)
  migrate up               apply every pending migration
  migrate down             roll back the last applied group of migrations
  migrate status           list applied and pending migrations
  migrate create NAME      write a new empty migration pair into ./migrations
  admin user create …      create an operator account (see rd admin)
  admin api-key create …   issue an integrator API key, printed once
  admin jwt-key generate   print a new key for AUTH_JWT_KEYS
  admin secrets-key generate  print a new key for SECRETS_KEYS
  version                  print the version

Configuration comes from the environment; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rd:", err)
		os.Exit(1)
	}
}

// errUsage means the command line was wrong; the usage text has been printed.
var errUsage = errors.New("see usage above")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	if args[0] == "version" {
		fmt.Fprintln(stdout, buildinfo.Version)
		return nil
	}
	cfg, err := app.Load(getenv)
	if err != nil {
		return err
	}
	logger, err := logging.New(cfg.Log, stderr)
	if err != nil {
		return err
	}
	switch args[0] {
	case "api":
		return withDeps(ctx, cfg, logger, func(d *app.Deps) error {
			return app.ServeAPI(ctx, cfg, d, func(addr string) { logger.Info("api listening", "addr", addr) })
		})
	case "worker":
		fs := flag.NewFlagSet("worker", flag.ContinueOnError)
		queues := fs.String("queues", "", "comma-separated task queues (default: the platform queues)")
		if err := fs.Parse(args[1:]); err != nil {
			return errUsage
		}
		if *queues != "" {
			cfg.Worker.Queues = app.SplitList(*queues)
		}
		return withDeps(ctx, cfg, logger, func(d *app.Deps) error { return app.RunWorker(ctx, cfg, d) })
	case "migrate":
		return migrate(ctx, cfg, args[1:], stdout, stderr)
	case "admin":
		return admin(ctx, cfg, args[1:], os.Stdin, stdout, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return errUsage
	}
}

func withDeps(ctx context.Context, cfg app.Config, logger *slog.Logger, fn func(*app.Deps) error) error {
	d, err := app.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(d)
}

func migrate(ctx context.Context, cfg app.Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	if args[0] == "create" {
		if len(args) != 2 {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		_, err := store.CreateMigration("migrations", args[1], stdout)
		return err
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	m := store.NewMigrator(st.DB, migrations.Migrations)
	switch args[0] {
	case "up":
		return m.Up(ctx, stdout)
	case "down":
		return m.Down(ctx, stdout)
	case "status":
		status, err := m.Status(ctx)
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(stdout, status)
		return err
	default:
		fmt.Fprint(stderr, usage)
		return errUsage
	}
}
