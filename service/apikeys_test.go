package service_test

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/ratelimit"
	"github.com/reviewdata/rd/internal/redistest"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

func TestAPIKeysAdmin(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	integrators := &service.Integrators{Store: b.store, Logger: slog.Default()}
	keys := &service.APIKeys{Store: b.store, Integrators: integrators}
	integrator := "int-" + rand.Text()[:8]

	limit := 30
	created, err := keys.Create(b.ctx, "RM prod", integrator, store.EnvironmentProduction, &limit)
	require.NoError(t, err)
	require.Regexp(t, `^rd_live_`, created.Plain)
	require.Equal(t, 30, *created.Key.RateLimitPerMinute)

	who, err := integrators.Authenticate(b.ctx, created.Plain)
	require.NoError(t, err)
	require.Equal(t, 30, *who.RateLimitPerMinute, "authentication carries the override to the limiter")

	listed, err := keys.List(b.ctx, store.APIKeyFilter{Integrator: integrator})
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.Equal(t, created.Key.Prefix, listed[0].Prefix)

	got, err := keys.SetRateLimit(b.ctx, created.Key.ID, nil)
	require.NoError(t, err)
	require.Nil(t, got.RateLimitPerMinute)

	revoked, err := keys.Revoke(b.ctx, created.Key.ID)
	require.NoError(t, err)
	require.NotNil(t, revoked.RevokedAt)
	_, err = integrators.Authenticate(b.ctx, created.Plain)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidAPIKey)

	bad := 0
	_, err = keys.Create(b.ctx, "x", integrator, store.EnvironmentTest, &bad)
	requireCode(t, err, http.StatusUnprocessableEntity, service.CodeValidationFailed)
	_, err = keys.SetRateLimit(b.ctx, created.Key.ID, &bad)
	requireCode(t, err, http.StatusUnprocessableEntity, service.CodeValidationFailed)
	_, err = keys.Revoke(b.ctx, uuid.New())
	requireCode(t, err, http.StatusNotFound, service.CodeNotFound)
	_, err = keys.SetRateLimit(b.ctx, uuid.New(), nil)
	requireCode(t, err, http.StatusNotFound, service.CodeNotFound)
}

func TestAPIKeyLimits(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	limits := &service.APIKeyLimits{
		Limiter: &ratelimit.Limiter{Redis: b.redis, Prefix: b.prefix}, PerMinute: 3, Logger: slog.Default(),
	}
	defaulted := service.Integrator{APIKeyID: uuid.New()}
	for range 3 {
		require.NoError(t, limits.Check(b.ctx, defaulted))
	}
	se := requireCode(t, limits.Check(b.ctx, defaulted), http.StatusTooManyRequests, service.CodeRateLimited)
	require.Equal(t, 20, se.Details[service.DetailRetryAfter], "one request's worth of a 3-a-minute limit")

	one := 1
	overridden := service.Integrator{APIKeyID: uuid.New(), RateLimitPerMinute: &one}
	require.NoError(t, limits.Check(b.ctx, overridden))
	requireCode(t, limits.Check(b.ctx, overridden), http.StatusTooManyRequests, service.CodeRateLimited)

	generous := 100
	raised := service.Integrator{APIKeyID: uuid.New(), RateLimitPerMinute: &generous}
	for range 10 {
		require.NoError(t, limits.Check(b.ctx, raised), "the override also raises the default")
	}
}

func TestAPIKeyLimitsFailOpen(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	limits := &service.APIKeyLimits{
		Limiter: &ratelimit.Limiter{Redis: redistest.Unreachable(t), Prefix: "x:"}, PerMinute: 1,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	}
	who := service.Integrator{APIKeyID: uuid.New()}
	for range 3 {
		require.NoError(t, limits.Check(t.Context(), who), "served while Redis is down")
	}
	require.Contains(t, logs.String(), "rate limiter unavailable")

	var nilLimits *service.APIKeyLimits
	require.NoError(t, nilLimits.Check(t.Context(), who), "no limiter configured: nothing is limited")
}

// Requests with bad keys are limited per client address, so a flood of
// made-up keys cannot turn into unlimited lookups and archive writes.
func TestBadKeysAreLimitedPerAddress(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	limits := &service.APIKeyLimits{Limiter: &ratelimit.Limiter{Redis: b.redis, Prefix: b.prefix}, Logger: slog.Default()}
	for range service.BadKeysPerMinute {
		require.NoError(t, limits.CheckBadKey(b.ctx, "198.51.100.7"))
	}
	requireCode(t, limits.CheckBadKey(b.ctx, "198.51.100.7"), http.StatusTooManyRequests, service.CodeRateLimited)
	require.NoError(t, limits.CheckBadKey(b.ctx, "198.51.100.8"), "another address has its own budget")
}
