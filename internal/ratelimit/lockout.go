package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lockout locks a key (an account, an IP) for Duration once Threshold
// failures have been recorded within Window of the first one. It is safe for
// concurrent use.
//
// The login flow is: if Locked, refuse (429 with Retry-After) without
// checking the password, so a locked account cannot be probed; otherwise
// check it, then Fail on a wrong password or Reset on success. Failures are
// counted in a fixed window that starts at the first failure: lock-out is a
// brake on guessing, not an accounting tool, so the simpler window is
// enough. Failures while locked neither count nor extend the lock, so an
// attacker cannot keep a victim locked out past Duration by hammering.
type Lockout struct {
	// Redis runs the scripts; usually the shared *redis.Client.
	Redis redis.Scripter
	// Prefix starts every Redis key, e.g. "lockout:". Use a different
	// prefix from any Limiter sharing the Redis.
	Prefix string
	// Threshold is how many failures lock the key. At least 1.
	Threshold int
	// Window is how long failures are remembered, from the first one.
	// At least a millisecond.
	Window time.Duration
	// Duration is how long the lock lasts. At least a millisecond.
	Duration time.Duration
}

// The state is one hash per key ({fails, locked}) whose TTL is the window
// while counting and the lock duration once locked. One key rather than a
// counter plus a lock flag keeps each script on a single key, which also
// keeps it valid on Redis Cluster.
var (
	//go:embed lockout_fail.lua
	failSrc    string
	failScript = redis.NewScript(failSrc)

	lockedScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'locked') == 0 then
  return {0, 0}
end
return {1, math.max(redis.call('PTTL', KEYS[1]), 1)}`)

	resetScript = redis.NewScript(`return {redis.call('DEL', KEYS[1])}`)
)

// Fail records a failure for key and reports whether key is now locked, and
// for how long (the Retry-After). It returns an error matching
// ErrInvalidLimit if the Lockout's fields are unusable, or ErrUnavailable if
// Redis could not be asked.
func (lo *Lockout) Fail(ctx context.Context, key string) (locked bool, retryAfter time.Duration, err error) {
	if err := lo.validate(); err != nil {
		return false, 0, err
	}
	vals, err := runInts(ctx, failScript, lo.Redis, []string{lo.Prefix + key}, 2,
		lo.Threshold, millis(lo.Window), millis(lo.Duration))
	if err != nil {
		return false, 0, err
	}
	return vals[0] == 1, time.Duration(vals[1]) * time.Millisecond, nil
}

// Locked reports whether key is locked and for how much longer. Its errors
// are Fail's.
func (lo *Lockout) Locked(ctx context.Context, key string) (locked bool, retryAfter time.Duration, err error) {
	if err := lo.validate(); err != nil {
		return false, 0, err
	}
	vals, err := runInts(ctx, lockedScript, lo.Redis, []string{lo.Prefix + key}, 2)
	if err != nil {
		return false, 0, err
	}
	return vals[0] == 1, time.Duration(vals[1]) * time.Millisecond, nil
}

// Reset forgets key's failures and lifts any lock (after a successful login,
// or by an operator). It returns an error matching ErrUnavailable if Redis
// could not be asked.
func (lo *Lockout) Reset(ctx context.Context, key string) error {
	_, err := runInts(ctx, resetScript, lo.Redis, []string{lo.Prefix + key}, 1)
	return err
}

func (lo *Lockout) validate() error {
	if lo.Threshold < 1 || lo.Window < time.Millisecond || lo.Duration < time.Millisecond {
		return fmt.Errorf("%w: Lockout needs Threshold >= 1 and Window, Duration >= 1ms, got Threshold=%d Window=%v Duration=%v",
			ErrInvalidLimit, lo.Threshold, lo.Window, lo.Duration)
	}
	return nil
}

// millis rounds d up to whole milliseconds, PEXPIRE's unit, so a lock never
// ends early.
func millis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
