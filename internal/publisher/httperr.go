package publisher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StatusError maps an HTTP status to a publisher failure. It is the one
// table every HTTP driver uses, so the same answer means the same reason
// everywhere:
//
//	2xx                  nil
//	404, 410             NOT_FOUND
//	401, 403, 451        BLOCKED
//	408                  TIMEOUT (retryable)
//	429                  RATE_LIMITED (retryable, RetryAfter from the header)
//	5xx                  PUBLISHER_UNAVAILABLE (retryable, RetryAfter from the header)
//	anything else        UNKNOWN (for example a redirect the client did not follow)
//
// It returns nil or an *Error; now anchors a Retry-After given as an HTTP date.
func StatusError(status int, header http.Header, now time.Time) error {
	if status >= 200 && status < 300 {
		return nil
	}
	e := NewError(reasonForStatus(status), fmt.Errorf("status %d %s", status, http.StatusText(status)))
	if e.Reason == ReasonRateLimited || e.Reason == ReasonPublisherUnavailable {
		e.RetryAfter, _ = ParseRetryAfter(header.Get("Retry-After"), now)
	}
	return e
}

func reasonForStatus(status int) FailureReason {
	switch {
	case status == http.StatusNotFound || status == http.StatusGone:
		return ReasonNotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden ||
		status == http.StatusUnavailableForLegalReasons:
		return ReasonBlocked
	case status == http.StatusRequestTimeout:
		return ReasonTimeout
	case status == http.StatusTooManyRequests:
		return ReasonRateLimited
	case status >= 500 && status < 600:
		return ReasonPublisherUnavailable
	default:
		return ReasonUnknown
	}
}

// TransportError maps an error from http.Client.Do, or from reading a
// response body, to a publisher failure:
//
//	ctx cancelled                      err unchanged (wraps context.Canceled; not a publisher failure)
//	deadline or client timeout         TIMEOUT (retryable)
//	unknown host                       NOT_FOUND
//	anything else (refused, reset, TLS) PUBLISHER_UNAVAILABLE (retryable)
//
// It returns nil for a nil err.
func TransportError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return NewError(ReasonTimeout, err)
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok && dnsErr.IsNotFound {
		return NewError(ReasonNotFound, err)
	}
	return NewError(ReasonPublisherUnavailable, err)
}

func isTimeout(err error) bool {
	netErr, ok := errors.AsType[net.Error](err)
	return ok && netErr.Timeout()
}

// ParseRetryAfter reads a Retry-After header value: delay-seconds or an HTTP
// date (RFC 9110 §10.2.3), relative to now. A date in the past gives zero.
// It reports false for an empty or unreadable value.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}
