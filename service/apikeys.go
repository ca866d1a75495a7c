package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/reviewdata/rd/internal/ratelimit"
	"github.com/reviewdata/rd/store"
)

// MaxAPIKeyRateLimit is the largest per-minute override a key may carry,
// matching the api_keys table's check.
const MaxAPIKeyRateLimit = 1_000_000

// APIKeys is the admin side of integrators' API keys: issue, list, limit and
// revoke. Listing shows prefixes only; the full key exists once, in the
// answer to Create.
type APIKeys struct {
	// Store is the database. Required.
	Store *store.Store
	// Integrators issues the keys. Required.
	Integrators *Integrators
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

var errAPIKeyNotFound = NotFound(CodeNotFound, "no such API key")

// Create issues a key for integrator in env with an optional per-minute rate
// limit override. It returns a 422 VALIDATION_FAILED *Error for an empty
// name or integrator, an unknown environment or a limit out of range.
func (s *APIKeys) Create(ctx context.Context, name, integrator string, env store.Environment, perMinute *int) (NewAPIKey, error) {
	if err := checkRateLimit(perMinute); err != nil {
		return NewAPIKey{}, err
	}
	// The limit goes in with the row: a second write could fail after the
	// insert and leave a live key whose secret nobody received.
	return s.Integrators.createAPIKey(ctx, name, integrator, env, perMinute)
}

// List returns the keys f selects, newest first.
func (s *APIKeys) List(ctx context.Context, f store.APIKeyFilter) ([]store.APIKey, error) {
	return store.ListAPIKeys(ctx, s.Store.DB, f)
}

// Revoke stops the key id from authenticating and returns it. Revoking a
// revoked key succeeds. It returns a 404 NOT_FOUND *Error for an unknown id.
func (s *APIKeys) Revoke(ctx context.Context, id uuid.UUID) (*store.APIKey, error) {
	key, err := store.RevokeAPIKey(ctx, s.Store.DB, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, errAPIKeyNotFound.WithErr(err)
	}
	return key, err
}

// SetRateLimit sets the key id's per-minute rate limit; nil restores the
// default. It returns a 404 NOT_FOUND or 422 VALIDATION_FAILED *Error.
func (s *APIKeys) SetRateLimit(ctx context.Context, id uuid.UUID, perMinute *int) (*store.APIKey, error) {
	if err := checkRateLimit(perMinute); err != nil {
		return nil, err
	}
	key, err := store.SetAPIKeyRateLimit(ctx, s.Store.DB, id, perMinute)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errAPIKeyNotFound.WithErr(err)
	}
	return key, err
}

func (s *APIKeys) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func checkRateLimit(perMinute *int) error {
	if perMinute != nil && (*perMinute < 1 || *perMinute > MaxAPIKeyRateLimit) {
		return Invalid(CodeValidationFailed, fmt.Sprintf("rate_limit_per_minute must be between 1 and %d", MaxAPIKeyRateLimit)).
			WithDetails(map[string]any{"body.rate_limit_per_minute": []string{"out of range"}})
	}
	return nil
}

// APIKeyLimits rate-limits integrator requests per API key, in Redis so every
// API replica shares the count. It fails open: when Redis cannot be asked
// the request is served and the outage logged, so a Redis incident does not
// take the integrator API down.
type APIKeyLimits struct {
	// Limiter counts requests. When nil, nothing is limited.
	Limiter *ratelimit.Limiter
	// PerMinute is the default rate of a key without its own. Defaults to
	// 600 (10 a second on average, a minute's worth in a burst).
	PerMinute int
	// Timeout bounds each Redis call. Defaults to 100ms.
	Timeout time.Duration
	// Logger receives limiter outages. Required when Limiter is set.
	Logger *slog.Logger
}

// DefaultAPIKeyPerMinute is APIKeyLimits.PerMinute's default.
const DefaultAPIKeyPerMinute = 600

// Check counts one request of who. It returns nil when the request may
// proceed (also when Redis could not be asked) and a 429 RATE_LIMITED
// *Error with a retry delay when the key is over its limit.
func (l *APIKeyLimits) Check(ctx context.Context, who Integrator) error {
	if l == nil || l.Limiter == nil {
		return nil
	}
	rate := l.PerMinute
	if rate <= 0 {
		rate = DefaultAPIKeyPerMinute
	}
	if who.RateLimitPerMinute != nil {
		rate = *who.RateLimitPerMinute
	}
	return l.allow(ctx, "apikey:"+who.APIKeyID.String(), rate, fmt.Sprintf("this API key is limited to %d requests a minute", rate))
}

// BadKeysPerMinute is how many requests with a missing, unknown or revoked
// API key one client address may make a minute.
const BadKeysPerMinute = 30

// CheckBadKey counts one request from clientAddr whose API key did not
// authenticate. Without it a flood of made-up keys would cost a key lookup
// and an archive write each, unlimited. It fails open like Check.
func (l *APIKeyLimits) CheckBadKey(ctx context.Context, clientAddr string) error {
	if l == nil || l.Limiter == nil {
		return nil
	}
	return l.allow(ctx, "badkey:"+clientAddr, BadKeysPerMinute, "too many requests with an invalid API key from this address")
}

func (l *APIKeyLimits) allow(ctx context.Context, key string, perMinute int, refusal string) error {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 100 * time.Millisecond
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := l.Limiter.Allow(rctx, key, ratelimit.Limit{Rate: perMinute, Period: time.Minute})
	if err != nil {
		l.Logger.WarnContext(ctx, "rate limiter unavailable; serving the request unlimited", "limit_key", key, "error", err)
		return nil
	}
	if !res.Allowed {
		return RateLimited(CodeRateLimited, refusal).WithRetryAfter(res.RetryAfter)
	}
	return nil
}
