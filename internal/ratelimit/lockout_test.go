package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/ratelimit"
)

func TestLockoutAfterThresholdAndReset(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	lo := b.lockout(3, time.Hour, time.Hour)

	locked, retry, err := lo.Locked(ctx, "alice")
	require.NoError(t, err)
	require.False(t, locked)
	require.Zero(t, retry)

	for i := range 2 {
		locked, retry, err = lo.Fail(ctx, "alice")
		require.NoError(t, err)
		require.False(t, locked, "failure %d", i+1)
		require.Zero(t, retry)
	}
	locked, _, err = lo.Locked(ctx, "alice")
	require.NoError(t, err)
	require.False(t, locked, "below threshold")

	locked, retry, err = lo.Fail(ctx, "alice")
	require.NoError(t, err)
	require.True(t, locked, "third failure locks")
	require.Equal(t, time.Hour, retry)

	locked, retry, err = lo.Locked(ctx, "alice")
	require.NoError(t, err)
	require.True(t, locked)
	require.Greater(t, retry, 59*time.Minute)
	require.LessOrEqual(t, retry, time.Hour)

	// More failures while locked do not extend the lock.
	locked, again, err := lo.Fail(ctx, "alice")
	require.NoError(t, err)
	require.True(t, locked)
	require.LessOrEqual(t, again, retry)

	locked, _, err = lo.Locked(ctx, "bob")
	require.NoError(t, err)
	require.False(t, locked, "other keys are unaffected")

	require.NoError(t, lo.Reset(ctx, "alice"))
	locked, _, err = lo.Locked(ctx, "alice")
	require.NoError(t, err)
	require.False(t, locked, "reset lifts the lock")

	for i := range 2 {
		locked, _, err = lo.Fail(ctx, "alice")
		require.NoError(t, err)
		require.False(t, locked, "reset also forgot the failures (failure %d)", i+1)
	}
}

func TestLockoutResetClearsFailuresBeforeLock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	lo := b.lockout(2, time.Hour, time.Hour)

	_, _, err := lo.Fail(ctx, "alice")
	require.NoError(t, err)
	require.NoError(t, lo.Reset(ctx, "alice")) // a successful login
	locked, _, err := lo.Fail(ctx, "alice")
	require.NoError(t, err)
	require.False(t, locked)
	require.NoError(t, lo.Reset(ctx, "never-failed"), "resetting an unknown key is fine")
}

// The next two tests sleep well past a short Window or Duration: expiry can
// only come later than that, never sooner, so they do not depend on speed.

func TestLockoutWindowExpires(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	lo := b.lockout(2, 200*time.Millisecond, time.Hour)

	locked, _, err := lo.Fail(ctx, "alice")
	require.NoError(t, err)
	require.False(t, locked)

	time.Sleep(400 * time.Millisecond)
	locked, _, err = lo.Fail(ctx, "alice")
	require.NoError(t, err)
	require.False(t, locked, "the first failure fell out of the window")
}

func TestLockoutExpires(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	lo := b.lockout(1, time.Hour, 200*time.Millisecond)

	locked, retry, err := lo.Fail(ctx, "alice")
	require.NoError(t, err)
	require.True(t, locked)
	require.Equal(t, 200*time.Millisecond, retry)

	time.Sleep(400 * time.Millisecond)
	locked, _, err = lo.Locked(ctx, "alice")
	require.NoError(t, err)
	require.False(t, locked)

	locked, _, err = lo.Fail(ctx, "alice")
	require.NoError(t, err)
	require.True(t, locked, "counting starts afresh after the lock")
}

func TestLockoutRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, lo := range map[string]*ratelimit.Lockout{
		"zero":         {},
		"no threshold": {Threshold: 0, Window: time.Second, Duration: time.Second},
		"no window":    {Threshold: 1, Duration: time.Second},
		"no duration":  {Threshold: 1, Window: time.Second},
	} {
		_, _, err := lo.Fail(ctx, "k")
		require.ErrorIs(t, err, ratelimit.ErrInvalidLimit, name)
		_, _, err = lo.Locked(ctx, "k")
		require.ErrorIs(t, err, ratelimit.ErrInvalidLimit, name)
	}
}
