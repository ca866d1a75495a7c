// Package api is ReviewData's HTTP API: Huma v2 operations on a chi router,
// the middleware every request passes through, and the error envelope every
// failing request is answered with.
//
// cmd/ builds a handler with NewHandler, wraps it in a server with NewServer
// and runs it with Serve. Operations are registered in routes.go, one file per
// resource holds their handlers, and handlers return *service.Error values
// that mapError (envelope.go) turns into the envelope.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reviewdata/rd/internal/health"
	"github.com/reviewdata/rd/service"
)

// Deps are the collaborators the API needs.
type Deps struct {
	// Logger receives the access log and panic reports. Required.
	Logger *slog.Logger
	// Checks are probed by GET /readyz, concurrently, in this order in the
	// report. The API knows nothing of Postgres, Redis, Temporal or S3:
	// cmd/ passes one Check per dependency.
	Checks []health.Check
	// Integrators authenticates API keys and archives integrator requests.
	// Required once any operation uses the apiKey scheme.
	Integrators *service.Integrators
	// Scrapes serves /request-reviews, /retrieve-task and /get-publisher-info.
	Scrapes *service.Scrapes
	// APIKeyLimits rate-limits integrator requests per API key. Optional:
	// nil limits nothing.
	APIKeyLimits *service.APIKeyLimits
	// Sessions logs operators in and authenticates their tokens. Required
	// once any operation uses the bearer or extension scheme; without it
	// those operations answer 503.
	Sessions *service.Sessions
	// Users, APIKeys and Publishers serve the admin endpoints.
	Users      *service.Users
	APIKeys    *service.APIKeys
	Publishers *service.PublisherAdmin
	// Webhooks serves the integrators' endpoint operations and the
	// operators' delivery operations.
	Webhooks *service.Webhooks
	// Registry receives the HTTP metrics and the Go runtime and process
	// collectors, and is served at GET /metrics. Optional: a fresh registry
	// is used when nil.
	Registry *prometheus.Registry
}

// NewHandler returns the API's HTTP handler: the middleware chain, every
// operation of routes.go, the OpenAPI 3.1 document at /openapi.json, its docs
// at /docs and Prometheus metrics at /metrics.
//
// It returns an error if cfg is invalid (see Config.WithDefaults), if
// deps.Logger is nil, or if a Check has no name, a duplicate name or no Ping.
func NewHandler(cfg Config, deps Deps) (http.Handler, error) {
	return newHandler(cfg, deps, nil)
}

// newHandler is NewHandler with a hook that registers extra operations after
// the production ones; tests use it to exercise error paths through real
// operations without adding test routes to the production API.
func newHandler(cfg Config, deps Deps, extra func(huma.API)) (http.Handler, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	if err := deps.validate(); err != nil {
		return nil, err
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}

	router := chi.NewRouter()
	// Order matters, outermost first. The request ID comes first so that
	// every log line and envelope below it carries the ID. The body limit
	// wraps the body with the server's own ResponseWriter, which lets
	// net/http close the connection instead of draining an oversized body.
	// Metrics and the access log observe the final status, so they sit
	// outside the recoverer, which turns a panic into that status.
	router.Use(requestID, limitBody(cfg.MaxBodyBytes), m.middleware, accessLog(deps.Logger), recoverer(deps.Logger))

	humaAPI := humachi.New(router, humaConfig(cfg))
	auth := &authenticator{api: humaAPI, integrators: deps.Integrators, limits: deps.APIKeyLimits, sessions: deps.Sessions}
	humaAPI.UseMiddleware(auth.middleware)
	registerRoutes(router, humaAPI, &resources{
		health:  &healthProbes{checks: deps.Checks, timeout: cfg.CheckTimeout},
		metrics: m,
		scrapes: &scrapes{svc: deps.Scrapes},

		sessions:        &sessions{svc: deps.Sessions},
		adminUsers:      &adminUsers{svc: deps.Users},
		adminAPIKeys:    &adminAPIKeys{svc: deps.APIKeys},
		adminPublishers: &adminPublishers{svc: deps.Publishers},
		webhooks:        &webhooks{svc: deps.Webhooks},
	})
	if extra != nil {
		extra(humaAPI)
	}
	return router, nil
}

func (d Deps) validate() error {
	if d.Logger == nil {
		return errors.New("api: Deps.Logger is nil; pass the process logger built by logging.New")
	}
	seen := make(map[string]bool, len(d.Checks))
	for i, c := range d.Checks {
		switch {
		case c.Name == "":
			return fmt.Errorf("api: Deps.Checks[%d] has no Name; name it after its dependency, e.g. \"postgres\"", i)
		case seen[c.Name]:
			return fmt.Errorf("api: Deps.Checks has two checks named %q; give each dependency one check", c.Name)
		case c.Ping == nil:
			return fmt.Errorf("api: check %q has no Ping; set it to the dependency's health probe", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// humaConfig is Huma's default configuration minus the schema-link
// transformer, whose "$schema" body field and Link header would change the
// fixed envelope shape of DESIGN.md.
func humaConfig(cfg Config) huma.Config {
	c := huma.DefaultConfig("ReviewData API", cfg.Version)
	c.CreateHooks = nil
	c.SchemasPath = "" // only the link transformer pointed clients there
	c.Transformers = []huma.Transformer{stampRequestID}
	c.OpenAPI.OnAddOperation = append(c.OpenAPI.OnAddOperation, useRouterBodyLimit, documentSecurity)
	c.Components.SecuritySchemes = securitySchemes()
	return c
}

// useRouterBodyLimit turns off Huma's per-operation body limit (1 MiB by
// default, and it rejects a body of exactly the limit) so that the limitBody
// middleware, configured by Config.MaxBodyBytes, is the only one. Huma does
// not call this hook for hidden operations, which keep its limit.
func useRouterBodyLimit(_ *huma.OpenAPI, op *huma.Operation) {
	op.MaxBodyBytes = -1
}

// NewServer returns an http.Server serving handler on cfg.Addr with cfg's
// timeouts. It only fills cfg's zero fields with defaults: validate cfg first
// through NewHandler or Config.WithDefaults.
func NewServer(cfg Config, handler http.Handler) *http.Server {
	cfg = cfg.applyDefaults()
	return &http.Server{
		Addr:              cfg.Addr,
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
	}
}

// Serve listens on srv.Addr and serves until ctx is cancelled, then shuts
// down gracefully, waiting at most shutdownTimeout (Config.ShutdownTimeout)
// for in-flight requests. ready, when not nil, is called with the bound
// address once the listener is open (useful with port 0). It returns nil
// after a clean shutdown, the listen error if srv could not start, or the
// shutdown error if requests outlived the timeout.
func Serve(ctx context.Context, srv *http.Server, shutdownTimeout time.Duration, ready func(addr string)) error {
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("api: serve %s: %w", srv.Addr, err)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve %s: %w", srv.Addr, err)
	case <-ctx.Done():
	}
	// The parent context is already done, so shutdown needs its own.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve %s: %w", srv.Addr, err)
	}
	return nil
}
