package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/reviewdata/rd/internal/blob"
	"github.com/reviewdata/rd/internal/health"
	"github.com/reviewdata/rd/internal/secrets"
	"github.com/reviewdata/rd/internal/temporalx"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
	"github.com/reviewdata/rd/workflows"
)

// Deps are the expensive clients a process builds once at start-up and
// passes down: never one per request.
type Deps struct {
	Logger   *slog.Logger
	Store    *store.Store
	Redis    *redis.Client
	Temporal client.Client
	Blob     *blob.Store

	Integrators *service.Integrators
	Scrapes     *service.Scrapes
	// Doorbell wakes the scrape admission lane; ServeAPI runs it.
	Doorbell *service.Doorbell

	// Secrets encrypts and decrypts secrets at rest (SECRETS_KEYS).
	Secrets *secrets.Keyring
	// WebhookStarter starts delivery workflows; Webhooks is the service.
	WebhookStarter *webhook.Starter
	Webhooks       *service.Webhooks
}

// Open builds every client. PostgreSQL must answer (it is the source of
// truth); Temporal, Redis and S3 connect lazily so a process can start while
// one of them is briefly away, and /readyz says so.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Deps, error) {
	d := &Deps{Logger: logger}
	var err error
	if d.Secrets, err = openSecrets(cfg.SecretsKeys); err != nil {
		return nil, err
	}
	if d.Store, err = store.Open(ctx, cfg.Store); err != nil {
		return nil, err
	}
	redisOpts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("config: REDIS_URL: %w", err)
	}
	d.Redis = redis.NewClient(redisOpts)
	if d.Temporal, err = temporalx.NewClient(cfg.Temporal, logger); err != nil {
		d.Close()
		return nil, err
	}
	if d.Blob, err = blob.New(cfg.Blob); err != nil {
		d.Close()
		return nil, err
	}
	d.Integrators = &service.Integrators{Store: d.Store, Logger: logger}
	d.Doorbell = service.NewDoorbell(d.Temporal, workflows.LaneScrape, 0, logger)
	d.Scrapes = &service.Scrapes{Store: d.Store, Doorbell: d.Doorbell}
	if err := d.openWebhooks(cfg.Webhook); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Checks are the dependencies /readyz and the worker probe report on.
func (d *Deps) Checks() []health.Check {
	return []health.Check{
		{Name: "postgres", Ping: d.Store.Ping},
		{Name: "redis", Ping: func(ctx context.Context) error { return d.Redis.Ping(ctx).Err() }},
		{Name: "temporal", Ping: func(ctx context.Context) error { return temporalx.Ping(ctx, d.Temporal) }},
		{Name: "s3", Ping: d.Blob.Ping},
	}
}

// Close releases every client that was opened.
func (d *Deps) Close() {
	if d.Temporal != nil {
		d.Temporal.Close()
	}
	if d.Redis != nil {
		if err := d.Redis.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			d.Logger.Warn("closing redis", "error", err)
		}
	}
	if d.Store != nil {
		d.Store.Close()
	}
}
