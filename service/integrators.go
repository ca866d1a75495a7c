package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/reviewdata/rd/internal/authtoken/apikey"
	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/internal/redact"
	"github.com/reviewdata/rd/store"
)

// Integrator is the caller an API key identifies.
type Integrator struct {
	// APIKeyID is the key that authenticated the request.
	APIKeyID uuid.UUID
	// Name is the integrator the key belongs to.
	Name string
	// Environment is production or test.
	Environment store.Environment
	// ScrapePriority is the admission priority of the key's scrapes.
	ScrapePriority int
	// RateLimitPerMinute is the key's own request rate limit; nil means the
	// deployment default (see APIKeyLimits).
	RateLimitPerMinute *int
}

// Integrators authenticates integrators' API keys and archives their requests.
type Integrators struct {
	Store  *store.Store
	Logger *slog.Logger
}

// errInvalidAPIKey is the one answer to every bad key: the caller learns
// nothing about which part was wrong.
var errInvalidAPIKey = Unauthorized(CodeInvalidAPIKey, "the API key is missing, unknown or revoked")

// Authenticate returns the integrator whose active key plain is. It returns a
// 401 INVALID_API_KEY *Error for a missing, malformed, unknown or revoked key.
func (s *Integrators) Authenticate(ctx context.Context, plain string) (Integrator, error) {
	prefix, err := apikey.Parse(plain)
	if err != nil {
		return Integrator{}, errInvalidAPIKey
	}
	key, err := store.FindAPIKeyByPrefix(ctx, s.Store.DB, prefix)
	if errors.Is(err, store.ErrNotFound) {
		return Integrator{}, errInvalidAPIKey
	}
	if err != nil {
		return Integrator{}, fmt.Errorf("authenticate api key: %w", err)
	}
	if !apikey.Matches(plain, key.KeyHash) {
		return Integrator{}, errInvalidAPIKey
	}
	return Integrator{APIKeyID: key.ID, Name: key.Integrator, Environment: key.Environment, ScrapePriority: key.ScrapePriority,
		RateLimitPerMinute: key.RateLimitPerMinute}, nil
}

// Archive stores an integrator request in inbound_request with its secrets
// redacted. who is nil when the request did not authenticate. A request ID
// already archived (a client retrying with its own X-Request-ID) is kept as
// first archived, and logged.
func (s *Integrators) Archive(ctx context.Context, endpoint string, who *Integrator, body []byte, remoteAddr string) error {
	row := &store.InboundRequest{
		RequestID:  logging.RequestID(ctx),
		Endpoint:   endpoint,
		Payload:    redact.JSON(body),
		RemoteAddr: remoteAddr,
	}
	if who != nil {
		row.APIKeyID, row.Integrator = &who.APIKeyID, who.Name
	}
	err := store.InsertInboundRequest(ctx, s.Store.DB, row)
	if errors.Is(err, store.ErrConflict) {
		s.Logger.WarnContext(ctx, "request id already archived; keeping the first payload", "endpoint", endpoint)
		return nil
	}
	if err != nil {
		return fmt.Errorf("archive inbound request: %w", err)
	}
	return nil
}

// NewAPIKey is a freshly issued key. Plain is shown once and never stored.
type NewAPIKey struct {
	Key   *store.APIKey
	Plain string
}

// CreateAPIKey issues a key for integrator in env. It returns a 422 *Error
// for an unknown environment or an empty name or integrator.
func (s *Integrators) CreateAPIKey(ctx context.Context, name, integrator string, env store.Environment) (NewAPIKey, error) {
	return s.createAPIKey(ctx, name, integrator, env, nil)
}

// createAPIKey is CreateAPIKey with an optional per-key rate limit, stored
// in the same insert.
func (s *Integrators) createAPIKey(ctx context.Context, name, integrator string, env store.Environment, perMinute *int) (NewAPIKey, error) {
	if name == "" || integrator == "" {
		return NewAPIKey{}, Invalid(CodeValidationFailed, "an API key needs a name and an integrator")
	}
	keyEnv, ok := map[store.Environment]apikey.Env{store.EnvironmentProduction: apikey.EnvLive, store.EnvironmentTest: apikey.EnvTest}[env]
	if !ok {
		return NewAPIKey{}, Invalid(CodeValidationFailed, `environment must be "production" or "test"`)
	}
	plain, prefix, hash, err := apikey.Generate(keyEnv)
	if err != nil {
		return NewAPIKey{}, err
	}
	key := &store.APIKey{Prefix: prefix, KeyHash: hash, Name: name, Integrator: integrator, Environment: env, RateLimitPerMinute: perMinute}
	if err := store.InsertAPIKey(ctx, s.Store.DB, key); err != nil {
		return NewAPIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return NewAPIKey{Key: key, Plain: plain}, nil
}
