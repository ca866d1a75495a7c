// Command rd-dev runs the whole platform in one process for local
// development: an embedded Temporal server with its Web UI, an S3-compatible
// server, a sandbox review publisher, migrations, the API and the platform
// worker (which also serves the sandbox publisher's scrapes). State lives under
// .dev/ so a restart keeps running workflows and stored objects.
//
// It links the Temporal server, which the production rd binary never does.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/reviewdata/rd/cmd/internal/app"
	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/internal/publisher/sandbox"
	"github.com/reviewdata/rd/worker"
)

// devConfig is what only the dev stack reads.
type devConfig struct {
	dir          string // DEV_DIR: state folder. Defaults to ".dev".
	temporalAddr string // DEV_TEMPORAL_ADDR. Defaults to "127.0.0.1:7233".
	uiAddr       string // DEV_TEMPORAL_UI_ADDR. Defaults to "127.0.0.1:8233".
	s3Addr       string // DEV_S3_ADDR. Defaults to "127.0.0.1:9000".
	sandboxAddr  string // DEV_SANDBOX_ADDR. Defaults to sandbox.DefaultAddr, "127.0.0.1:8090".
}

// The dev stack's fixed S3 credentials: the local server accepts any.
const (
	devS3AccessKey = "rd-dev"
	devS3Secret    = "rd-dev-secret"
	// devSecretsKey encrypts the dev stack's secrets at rest (SECRETS_KEYS).
	// Dev only: production generates its own with `rd admin secrets-key generate`.
	devSecretsKey = "g5vi-9G49UhM667DlnbnXpUBeaOi_ZpwzuKsyV86Flc="
)

// stopTimeout bounds a clean shutdown; the promise is everything gone in 10 s.
const stopTimeout = 8 * time.Second

func main() {
	stopWithParent()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rd-dev:", err)
		os.Exit(1)
	}
}

func loadDevConfig(getenv func(string) string) devConfig {
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	return devConfig{
		dir:          or("DEV_DIR", ".dev"),
		temporalAddr: or("DEV_TEMPORAL_ADDR", "127.0.0.1:7233"),
		uiAddr:       or("DEV_TEMPORAL_UI_ADDR", "127.0.0.1:8233"),
		s3Addr:       or("DEV_S3_ADDR", "127.0.0.1:9000"),
		sandboxAddr:  or("DEV_SANDBOX_ADDR", sandbox.DefaultAddr),
	}
}

// devEnv gives the app configuration the dev stack's defaults: readable logs
// and the embedded servers' addresses. Anything set in the environment wins.
func devEnv(getenv func(string) string, dev devConfig) func(string) string {
	defaults := map[string]string{
		"LOG_FORMAT":           "text",
		"TEMPORAL_ADDRESS":     dev.temporalAddr,
		"S3_ENDPOINT":          "http://" + dev.s3Addr,
		"S3_ACCESS_KEY_ID":     devS3AccessKey,
		"S3_SECRET_ACCESS_KEY": devS3Secret,
		// The sandbox publisher listens on loopback.
		"SCRAPE_ALLOW_PRIVATE": "true",
		// Fixed so secrets encrypted in .dev/ stay readable across
		// restarts. Dev only: production sets its own SECRETS_KEYS.
		"SECRETS_KEYS": devSecretsKey,
		// Receivers on the developer's machine are loopback addresses.
		"WEBHOOK_ALLOW_PRIVATE": "true",
		// Random per start: access tokens live 15 minutes anyway, and after
		// a restart the console refreshes (refresh tokens are in Postgres).
		"AUTH_JWT_KEYS": "dev:" + base64.StdEncoding.EncodeToString([]byte(rand.Text()+rand.Text())),
	}
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return defaults[name]
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	dev := loadDevConfig(getenv)
	cfg, err := app.Load(devEnv(getenv, dev))
	if err != nil {
		return err
	}
	if len(cfg.Worker.Queues) == 0 {
		// The one worker also serves the sandbox publisher's scrapes.
		cfg.Worker.Queues = append(slices.Clone(worker.PlatformQueues), sandboxQueue)
	}
	// Requests in flight get a short grace: the whole stack must be gone
	// within 10 s of Ctrl-C.
	cfg.API.ShutdownTimeout = 3 * time.Second
	logger, err := logging.New(cfg.Log, stdout)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dev.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dev.dir, err)
	}
	stack := &stack{logger: logger}
	defer stack.stop()
	if err := stack.start(ctx, cfg, dev); err != nil {
		return err
	}
	return stack.serve(ctx, cfg, func() { printAddrs(stdout, cfg, dev, stack) })
}

func printAddrs(w io.Writer, cfg app.Config, dev devConfig, s *stack) {
	fmt.Fprintf(w, `
ReviewData dev stack is up (Ctrl-C stops everything):
  API             http://%s  (docs: /docs, readiness: /readyz)
  Temporal        %s  (gRPC)
  Temporal Web    http://%s
  S3              http://%s  (bucket %s)
  Sandbox         http://%s  (publisher "sandbox"; try /biz/acme-120)
  PostgreSQL      %s
  Redis           %s
  State           %s
`, s.apiAddr, dev.temporalAddr, dev.uiAddr, s.s3.Addr(), cfg.Blob.Bucket, s.sandboxAddr,
		redactURL(cfg.Store.DatabaseURL), cfg.RedisURL, filepath.Clean(dev.dir))
}

// temporalLogLevel keeps the embedded Temporal server quiet unless asked.
func temporalLogLevel(cfg app.Config) slog.Level {
	if cfg.Log.Level < slog.LevelInfo {
		return slog.LevelInfo
	}
	return slog.LevelWarn
}
