package app

import (
	"context"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/api"
	"github.com/reviewdata/rd/internal/buildinfo"
	"github.com/reviewdata/rd/worker"
)

// ServeAPI serves the API on cfg.API.Addr until ctx ends, then shuts down
// gracefully. ready, when not nil, receives the bound address once listening.
func ServeAPI(ctx context.Context, cfg Config, d *Deps, ready func(addr string)) error {
	cfg.API.Version = buildinfo.Version
	apiCfg, err := cfg.API.WithDefaults()
	if err != nil {
		return err
	}
	apiDeps := api.Deps{
		Logger: d.Logger, Checks: d.Checks(), Integrators: d.Integrators, Scrapes: d.Scrapes,
		Webhooks: d.Webhooks,
	}
	if err := withAccounts(&apiDeps, cfg.Auth, d); err != nil {
		return err
	}
	handler, err := api.NewHandler(apiCfg, apiDeps)
	if err != nil {
		return err
	}
	go d.Doorbell.Run(ctx)
	return api.Serve(ctx, api.NewServer(apiCfg, handler), apiCfg.ShutdownTimeout, ready)
}

// RunWorker polls the configured task queues until ctx ends.
func RunWorker(ctx context.Context, cfg Config, d *Deps) error {
	scrape, err := newScrapeActivities(cfg.Scrape, d)
	if err != nil {
		return err
	}
	deps := worker.Deps{
		Logger: d.Logger,
		Probe:  &activities.ProbeActivities{Checks: d.Checks()},
		Admission: &activities.AdmissionActivities{
			Store: d.Store, Temporal: d.Temporal, Policy: cfg.Admission, Logger: d.Logger,
			Workers: activities.TemporalWorkerCounter{Client: d.Temporal, Namespace: cfg.Temporal.NamespaceOrDefault()},
		},
		Scrape:  scrape,
		Webhook: newWebhookActivities(cfg.Webhook, d),
	}
	return worker.Run(ctx, d.Temporal, cfg.Worker, deps)
}
