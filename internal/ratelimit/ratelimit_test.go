package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/ratelimit"
	"github.com/reviewdata/rd/internal/redistest"
)

type bundle struct {
	client  *redis.Client
	prefix  string // unique to this test; every key written starts with it
	limiter *ratelimit.Limiter
}

// setup connects to the test Redis and gives the test its own key prefix.
func setup(t *testing.T) *bundle {
	t.Helper()
	client := redistest.Client(t)
	prefix := redistest.Prefix(t, client)
	return &bundle{client: client, prefix: prefix, limiter: &ratelimit.Limiter{Redis: client, Prefix: prefix + "rl:"}}
}

func (b *bundle) lockout(threshold int, window, duration time.Duration) *ratelimit.Lockout {
	return &ratelimit.Lockout{Redis: b.client, Prefix: b.prefix + "lock:", Threshold: threshold, Window: window, Duration: duration}
}

func TestAllowEnforcesLimitExactly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	limit := ratelimit.Limit{Rate: 5, Period: time.Hour} // one request per 12 minutes

	var lastReset time.Duration
	for i := range 5 {
		res, err := b.limiter.Allow(ctx, "k", limit)
		require.NoError(t, err)
		require.True(t, res.Allowed, "request %d", i+1)
		require.Equal(t, 4-i, res.Remaining)
		require.Zero(t, res.RetryAfter)
		require.Greater(t, res.ResetAfter, lastReset)
		require.LessOrEqual(t, res.ResetAfter, time.Hour)
		lastReset = res.ResetAfter
	}
	for range 3 {
		res, err := b.limiter.Allow(ctx, "k", limit)
		require.NoError(t, err)
		require.False(t, res.Allowed)
		require.Zero(t, res.Remaining)
		// The next slot opens one emission interval (12m) after the first
		// request, less the little time the test has taken.
		require.Greater(t, res.RetryAfter, 11*time.Minute)
		require.LessOrEqual(t, res.RetryAfter, 12*time.Minute)
		require.Greater(t, res.ResetAfter, 59*time.Minute)
	}
}

func TestAllowBurstSmallerThanRate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	limit := ratelimit.Limit{Rate: 100, Period: time.Hour, Burst: 3}

	for i := range 3 {
		res, err := b.limiter.Allow(ctx, "k", limit)
		require.NoError(t, err)
		require.True(t, res.Allowed, "request %d", i+1)
		require.Equal(t, 2-i, res.Remaining)
	}
	res, err := b.limiter.Allow(ctx, "k", limit)
	require.NoError(t, err)
	require.False(t, res.Allowed)
	require.LessOrEqual(t, res.RetryAfter, 36*time.Second) // 1h/100
}

// TestAllowRefills checks only orderings that hold however slowly the test
// runs: a fresh key allows Burst requests, a refusal comes eventually, and
// waiting the advertised RetryAfter / ResetAfter is always enough.
func TestAllowRefills(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	limit := ratelimit.Limit{Rate: 2, Period: 200 * time.Millisecond} // one per 100ms

	exhaust := func() ratelimit.Result {
		t.Helper()
		for range 1000 {
			res, err := b.limiter.Allow(ctx, "k", limit)
			require.NoError(t, err)
			if !res.Allowed {
				return res
			}
		}
		require.FailNow(t, "limit never refused")
		return ratelimit.Result{}
	}
	allowed := func(msg string) ratelimit.Result {
		t.Helper()
		res, err := b.limiter.Allow(ctx, "k", limit)
		require.NoError(t, err)
		require.True(t, res.Allowed, msg)
		return res
	}

	allowed("first of the burst")
	allowed("second of the burst")
	refused := exhaust()
	require.Greater(t, refused.RetryAfter, time.Duration(0))
	require.LessOrEqual(t, refused.RetryAfter, 100*time.Millisecond, "never more than one emission interval")

	time.Sleep(refused.RetryAfter + 10*time.Millisecond)
	last := allowed("after RetryAfter")

	time.Sleep(last.ResetAfter + 10*time.Millisecond)
	allowed("full burst again: first")
	allowed("full burst again: second")
}

func TestAllowKeysAreIndependent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	limit := ratelimit.Limit{Rate: 1, Period: time.Hour}

	res, err := b.limiter.Allow(ctx, "a", limit)
	require.NoError(t, err)
	require.True(t, res.Allowed)
	res, err = b.limiter.Allow(ctx, "a", limit)
	require.NoError(t, err)
	require.False(t, res.Allowed)

	res, err = b.limiter.Allow(ctx, "b", limit)
	require.NoError(t, err)
	require.True(t, res.Allowed, "another key")

	other := &ratelimit.Limiter{Redis: b.client, Prefix: b.prefix + "other:"}
	res, err = other.Allow(ctx, "a", limit)
	require.NoError(t, err)
	require.True(t, res.Allowed, "same key under another prefix")
}

func TestAllowConcurrentCallersNeverExceedLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	limit := ratelimit.Limit{Rate: 20, Period: time.Hour}

	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 4 {
				res, err := b.limiter.Allow(ctx, "hot", limit)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					allowed.Add(1)
				} else {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 20, allowed.Load())
	require.EqualValues(t, 180, refused.Load())
}

func TestAllowRejectsInvalidLimit(t *testing.T) {
	t.Parallel()
	// No Redis: validation must come first.
	l := &ratelimit.Limiter{Prefix: "x:"}
	for name, limit := range map[string]ratelimit.Limit{
		"zero":           {},
		"no rate":        {Rate: 0, Period: time.Second},
		"no period":      {Rate: 1},
		"negative burst": {Rate: 1, Period: time.Second, Burst: -1},
		"sub-microsecond": {
			Rate: 2000, Period: time.Millisecond,
		},
	} {
		res, err := l.Allow(context.Background(), "k", limit)
		require.ErrorIs(t, err, ratelimit.ErrInvalidLimit, name)
		require.NotErrorIs(t, err, ratelimit.ErrUnavailable, name)
		require.False(t, res.Allowed, name)
	}
}

func TestRedisFailuresAreErrUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	limit := ratelimit.Limit{Rate: 1, Period: time.Second}

	closed := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	require.NoError(t, closed.Close())

	for name, c := range map[string]redis.Scripter{
		"nothing listening": redistest.Unreachable(t),
		"closed client":     closed,
		"nil client":        nil,
	} {
		l := &ratelimit.Limiter{Redis: c, Prefix: "x:"}
		res, err := l.Allow(ctx, "k", limit)
		require.ErrorIs(t, err, ratelimit.ErrUnavailable, name)
		require.False(t, res.Allowed, name)

		lo := &ratelimit.Lockout{Redis: c, Prefix: "x:", Threshold: 1, Window: time.Second, Duration: time.Second}
		_, _, err = lo.Fail(ctx, "k")
		require.ErrorIs(t, err, ratelimit.ErrUnavailable, name)
		locked, _, err := lo.Locked(ctx, "k")
		require.ErrorIs(t, err, ratelimit.ErrUnavailable, name)
		require.False(t, locked, name)
		require.ErrorIs(t, lo.Reset(ctx, "k"), ratelimit.ErrUnavailable, name)
	}

	l := &ratelimit.Limiter{Redis: closed}
	_, err := l.Allow(ctx, "k", limit)
	require.ErrorIs(t, err, redis.ErrClosed, "the cause stays matchable")
}

func TestAllowHonoursContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := b.limiter.Allow(ctx, "k", ratelimit.Limit{Rate: 1, Period: time.Second})
	require.ErrorIs(t, err, ratelimit.ErrUnavailable)
	require.ErrorIs(t, err, context.Canceled)
}
