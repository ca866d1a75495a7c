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
	handler, err := api.NewHandler(apiCfg, api.Deps{Logger: d.Logger, Checks: d.Checks()})
	if err != nil {
		return err
	}
	return api.Serve(ctx, api.NewServer(apiCfg, handler), apiCfg.ShutdownTimeout, ready)
}

// RunWorker polls the configured task queues until ctx ends.
func RunWorker(ctx context.Context, cfg Config, d *Deps) error {
	deps := worker.Deps{
		Probe: &activities.ProbeActivities{Checks: d.Checks()},
	}
	return worker.Run(ctx, d.Temporal, cfg.Worker, deps)
}
