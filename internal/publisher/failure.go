package publisher

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// FailureReason says why a publisher operation failed, in words a workflow
// can branch on and an integrator can read. The values are wire API
// (SCREAMING_SNAKE_CASE, stable): add new ones, never rename them.
type FailureReason string

// The failure reasons. Each comment says when a driver uses it and whether
// retrying is worthwhile by default (FailureReason.Retryable).
const (
	// ReasonInvalidURL: the URL is not an absolute http(s) URL with a host.
	// Not retryable.
	ReasonInvalidURL FailureReason = "INVALID_URL"
	// ReasonPublisherUnavailable: the publisher answered 5xx, or the
	// connection failed (refused, reset, TLS). Retryable.
	ReasonPublisherUnavailable FailureReason = "PUBLISHER_UNAVAILABLE"
	// ReasonBlocked: the publisher refused us (401, 403, 451), typically bot
	// protection. Not retryable as is: it needs another route (browser,
	// proxy, credentials).
	ReasonBlocked FailureReason = "BLOCKED"
	// ReasonRateLimited: the publisher answered 429. Retryable, after
	// Error.RetryAfter when the publisher named a delay.
	ReasonRateLimited FailureReason = "RATE_LIMITED"
	// ReasonParseError: the page arrived but could not be read: no usable
	// review markup, every markup block malformed, or a body over the size
	// limit. Not retryable.
	ReasonParseError FailureReason = "PARSE_ERROR"
	// ReasonTimeout: the context deadline or the HTTP client's timeout
	// passed, or the publisher answered 408. Retryable.
	ReasonTimeout FailureReason = "TIMEOUT"
	// ReasonNotFound: the page or host does not exist (404, 410, unknown
	// host). Not retryable.
	ReasonNotFound FailureReason = "NOT_FOUND"
	// ReasonUnknown: anything else, such as an unexpected 4xx or an
	// unfollowed redirect. Not retryable.
	ReasonUnknown FailureReason = "UNKNOWN"
)

// FailureReasons returns every FailureReason, for documentation and API enums.
func FailureReasons() []FailureReason {
	return []FailureReason{
		ReasonInvalidURL, ReasonPublisherUnavailable, ReasonBlocked, ReasonRateLimited,
		ReasonParseError, ReasonTimeout, ReasonNotFound, ReasonUnknown,
	}
}

// Valid reports whether r is one of the defined reasons.
func (r FailureReason) Valid() bool {
	for _, known := range FailureReasons() {
		if r == known {
			return true
		}
	}
	return false
}

// Retryable reports whether a failure for this reason is worth retrying
// unchanged: true for PUBLISHER_UNAVAILABLE, RATE_LIMITED and TIMEOUT.
func (r FailureReason) Retryable() bool {
	switch r {
	case ReasonPublisherUnavailable, ReasonRateLimited, ReasonTimeout:
		return true
	default:
		return false
	}
}

// Error is the error drivers return for a publisher failure. Workflows map
// it with errors.As: Reason to the job's failure reason, Retryable to a
// non-retryable application error when false, RetryAfter to the next retry
// delay.
type Error struct {
	// Reason classifies the failure.
	Reason FailureReason
	// Retryable says whether trying again unchanged may succeed. NewError
	// sets it to Reason.Retryable().
	Retryable bool
	// RetryAfter is how long the publisher asked us to wait (Retry-After);
	// zero when it did not say.
	RetryAfter time.Duration
	// Err is the underlying cause; it may be nil.
	Err error
}

// NewError returns an *Error for reason wrapping err, retryable by the
// reason's default.
func NewError(reason FailureReason, err error) *Error {
	return &Error{Reason: reason, Retryable: reason.Retryable(), Err: err}
}

// Errorf is NewError with a cause made by fmt.Errorf (so %w works).
func Errorf(reason FailureReason, format string, args ...any) *Error {
	return NewError(reason, fmt.Errorf(format, args...))
}

// Error returns "publisher: REASON: cause", noting a retry delay if any.
func (e *Error) Error() string {
	msg := "publisher: " + string(e.Reason)
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the FailureReason of the first *Error in err's chain. For
// an error without one it returns ReasonTimeout if the chain holds
// context.DeadlineExceeded, ReasonUnknown otherwise, and "" for a nil err.
func ReasonOf(err error) FailureReason {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonTimeout
	}
	return ReasonUnknown
}
