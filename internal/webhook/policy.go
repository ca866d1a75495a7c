package webhook

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DefaultSchedule is the published retry schedule: the wait before each of
// the 8 attempts (the first is immediate), about 27.6 hours in all.
var DefaultSchedule = []time.Duration{
	0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Policy defaults.
const (
	// DefaultJitter spreads each scheduled wait over ±20%.
	DefaultJitter = 0.2
	// DefaultRetryAfterFloor is the shortest wait after a 429 or 503 that
	// carried Retry-After.
	DefaultRetryAfterFloor = 60 * time.Second
	// DefaultPollInterval is how long a delivery waiting for a send slot
	// sleeps before asking again when no slot release wakes it sooner.
	DefaultPollInterval = 30 * time.Second
	// DefaultSendTimeout bounds the activity that makes one attempt: the
	// 10 s HTTP timeout plus the time to record the outcome.
	DefaultSendTimeout = 30 * time.Second
	// MaxAttempts bounds a configured schedule's length.
	MaxAttempts = 20
)

// Policy is the retry policy of one delivery run. It travels in the
// workflow's input, so a run keeps the policy it started with even if the
// configuration changes meanwhile. The zero Policy means the defaults.
type Policy struct {
	// Schedule is the wait before each attempt; its length is the number
	// of attempts before the delivery is dead-lettered. Defaults to
	// DefaultSchedule.
	Schedule []time.Duration `json:"schedule,omitempty"`
	// Jitter is the fraction each wait is spread by, both ways. Defaults to
	// DefaultJitter; a negative value means none.
	Jitter float64 `json:"jitter,omitempty"`
	// RetryAfterFloor is the shortest wait after a 429 or 503 carrying
	// Retry-After. Defaults to DefaultRetryAfterFloor.
	RetryAfterFloor time.Duration `json:"retry_after_floor,omitempty"`
	// PollInterval bounds how long a delivery waiting for a send slot waits
	// before asking again. Defaults to DefaultPollInterval.
	PollInterval time.Duration `json:"poll_interval,omitempty"`
	// SendTimeout is the start-to-close timeout of the activity that makes
	// one attempt; when it passes (a lost worker) the attempt is recorded
	// as failed. Keep it above the HTTP client's timeout. Defaults to
	// DefaultSendTimeout.
	SendTimeout time.Duration `json:"send_timeout,omitempty"`
}

// WithDefaults returns p with its zero fields set to their defaults. A
// negative Jitter (none) stays negative: made 0, it would read as "the
// default" once defaulted again, as in the workflow, which gets its policy
// through JSON (where omitempty drops the 0).
func (p Policy) WithDefaults() Policy {
	if len(p.Schedule) == 0 {
		p.Schedule = DefaultSchedule
	}
	if p.Jitter == 0 {
		p.Jitter = DefaultJitter
	}
	if p.RetryAfterFloor == 0 {
		p.RetryAfterFloor = DefaultRetryAfterFloor
	}
	if p.PollInterval == 0 {
		p.PollInterval = DefaultPollInterval
	}
	if p.SendTimeout == 0 {
		p.SendTimeout = DefaultSendTimeout
	}
	return p
}

// Validate reports what is wrong with p (defaults applied), in words that
// say how to fix it.
func (p Policy) Validate() error {
	p = p.WithDefaults()
	var errs []error
	if len(p.Schedule) > MaxAttempts {
		errs = append(errs, fmt.Errorf("webhook: schedule has %d attempts; at most %d", len(p.Schedule), MaxAttempts))
	}
	for i, d := range p.Schedule {
		if d < 0 {
			errs = append(errs, fmt.Errorf("webhook: schedule entry %d is %s; waits must not be negative", i+1, d))
		}
	}
	if p.Jitter > 0.5 {
		errs = append(errs, fmt.Errorf("webhook: jitter %.2f is above 0.5; use a fraction like 0.2", p.Jitter))
	}
	if p.RetryAfterFloor < 0 || p.PollInterval < 0 || p.SendTimeout < 0 {
		errs = append(errs, errors.New("webhook: RetryAfterFloor, PollInterval and SendTimeout must not be negative"))
	}
	return errors.Join(errs...)
}

// Attempts is the number of attempts before a dead letter.
func (p Policy) Attempts() int { return len(p.WithDefaults().Schedule) }

// Wait returns the jittered wait before attempt seq (1-based) of a delivery
// run: the scheduled wait times a factor in [1-Jitter, 1+Jitter] drawn from
// a hash of the delivery, its generation and seq. It is deterministic, so
// workflow code may call it, and different deliveries spread differently,
// so a burst of failures does not retry in lock step.
func (p Policy) Wait(deliveryID uuid.UUID, generation, seq int) time.Duration {
	p = p.WithDefaults()
	if seq < 1 || seq > len(p.Schedule) {
		return 0
	}
	base := p.Schedule[seq-1]
	jitter := max(p.Jitter, 0) // negative means none
	factor := 1 - jitter + 2*jitter*unitHash(deliveryID, generation, seq)
	return time.Duration(float64(base) * factor).Round(time.Millisecond)
}

// RetryAfterWait returns how long to wait after a 429 or 503 that asked for
// retryAfter when the schedule says scheduled: Retry-After is honoured, but
// bounded to between 1x and 2x the scheduled wait, and never under
// RetryAfterFloor. A receiver can thus slow RD down, within reason, but not
// stall a delivery for days nor make it hammer.
func (p Policy) RetryAfterWait(scheduled, retryAfter time.Duration) time.Duration {
	p = p.WithDefaults()
	lo := max(scheduled, p.RetryAfterFloor)
	hi := max(2*scheduled, p.RetryAfterFloor)
	return min(max(retryAfter, lo), hi)
}

// unitHash maps its arguments to [0, 1), uniformly enough for jitter.
func unitHash(id uuid.UUID, generation, seq int) float64 {
	h := fnv.New64a()
	h.Write(id[:])
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(generation))
	binary.BigEndian.PutUint64(buf[8:], uint64(seq))
	h.Write(buf[:])
	// FNV's low bits mix poorly for near-identical inputs; a final
	// avalanche step (SplitMix64's) spreads them.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// ParseSchedule parses a comma-separated list of Go durations, such as
// "0s,5s,5m,30m,2h,5h,10h,10h", for configuration.
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for i, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w (use Go durations like 0s,5s,5m)", i+1, err)
		}
		out = append(out, d)
	}
	if err := (Policy{Schedule: out}).Validate(); err != nil {
		return nil, err
	}
	return out, nil
}
