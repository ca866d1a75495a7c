// Package ratelimit enforces request rate limits and login lock-outs in
// Redis, so every API replica shares one count.
//
// Error contract: Allow, Fail, Locked and Reset return a non-nil error only
// when they could not decide, and then it matches ErrUnavailable (wrapping
// the Redis or context error). The package never chooses a fallback; the
// caller does, per route:
//
//   - integrator routes fail open: log the error and serve the request, so a
//     Redis outage does not take the integrator API down;
//   - login fails closed: answer 503, so an outage cannot be used to lift
//     the brute-force protection.
//
// Give every call a context with a short deadline (tens of milliseconds):
// a hung Redis should cost a request that much, not a client timeout.
package ratelimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is matched (errors.Is) by every error caused by Redis (or a
// done context) rather than by the caller's arguments. See the package
// comment for what to do about it.
var ErrUnavailable = errors.New("ratelimit: redis unavailable")

// ErrInvalidLimit is matched by errors for a Limit or Lockout that cannot
// work (a programming or configuration error; not a Redis problem).
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// Limit is Rate requests per Period, in bursts of at most Burst.
type Limit struct {
	// Rate is how many requests are allowed per Period, on average. At
	// least 1.
	Rate int
	// Period is the window Rate applies to; Period/Rate must be at least
	// a microsecond.
	Period time.Duration
	// Burst is how many requests may arrive at once after a quiet spell.
	// Defaults to Rate (0 means Rate), i.e. a full Period's allowance.
	Burst int
}

// Result is the decision for one request.
type Result struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is how long to wait before the next request can be
	// allowed: zero when Allowed; the Retry-After header when refused.
	RetryAfter time.Duration
	// ResetAfter is how long until the full Burst is available again.
	ResetAfter time.Duration
}

// Limiter decides whether requests are within a Limit. It is safe for
// concurrent use.
type Limiter struct {
	// Redis runs the scripts; a *redis.Client (built once at start-up) is
	// the usual value.
	Redis redis.Scripter
	// Prefix starts every Redis key the limiter writes, e.g. "rl:". The
	// caller's key follows it unchanged.
	Prefix string
}

// allowSrc is the GCRA step; see allowScript.
//
//go:embed gcra.lua
var allowSrc string

// allowScript is GCRA (the generic cell rate algorithm, as in redis-cell and
// go-redis/redis_rate), chosen over the alternatives because:
//   - it keeps one number per key (the theoretical arrival time), where a
//     sliding-window log keeps one entry per request (memory grows with the
//     limit, and an abusive client's own traffic inflates it);
//   - unlike fixed-window counters it does not let a client spend two
//     windows' worth of requests across a window boundary;
//   - it yields exact Retry-After and reset times with no extra state.
//
// It runs as one Lua script, so concurrent callers cannot interleave a read
// and a write, and it uses Redis's clock (TIME), so replicas with skewed
// clocks still agree.
var allowScript = redis.NewScript(allowSrc)

// Allow counts one request against key under limit and reports whether it
// is allowed. Different keys are limited independently; callers name the
// subject in the key (e.g. "apikey:"+prefix, "login-ip:"+ip).
//
// It returns an error matching ErrInvalidLimit if limit is unusable, or one
// matching ErrUnavailable if Redis could not be asked; the Result is then
// the zero value (not allowed), and the caller applies its fail-open or
// fail-closed policy.
func (l *Limiter) Allow(ctx context.Context, key string, limit Limit) (Result, error) {
	interval, burst, err := limit.gcra()
	if err != nil {
		return Result{}, err
	}
	vals, err := runInts(ctx, allowScript, l.Redis, []string{l.Prefix + key}, 4, interval, burst)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Allowed:    vals[0] == 1,
		Remaining:  int(vals[1]),
		RetryAfter: time.Duration(vals[2]) * time.Microsecond,
		ResetAfter: time.Duration(vals[3]) * time.Microsecond,
	}, nil
}

// gcra returns the emission interval (Period/Rate, in whole microseconds;
// the rounding down is at most a microsecond per request in the caller's
// favour) and the burst.
func (lim Limit) gcra() (intervalMicros int64, burst int, err error) {
	if lim.Rate < 1 || lim.Period <= 0 || lim.Burst < 0 {
		return 0, 0, fmt.Errorf("%w: need Rate >= 1, Period > 0 and Burst >= 0, got %+v", ErrInvalidLimit, lim)
	}
	intervalMicros = lim.Period.Microseconds() / int64(lim.Rate)
	if intervalMicros < 1 {
		return 0, 0, fmt.Errorf("%w: Period/Rate is under a microsecond: %+v", ErrInvalidLimit, lim)
	}
	burst = lim.Burst
	if burst == 0 {
		burst = lim.Rate
	}
	return intervalMicros, burst, nil
}

// runInts runs script and returns its reply, which must be an array of n
// integers. Every failure is wrapped in ErrUnavailable.
func runInts(ctx context.Context, s *redis.Script, c redis.Scripter, keys []string, n int, args ...any) ([]int64, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: no Redis client configured", ErrUnavailable)
	}
	vals, err := s.Run(ctx, c, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if len(vals) != n {
		return nil, fmt.Errorf("%w: script returned %d values, want %d", ErrUnavailable, len(vals), n)
	}
	return vals, nil
}
