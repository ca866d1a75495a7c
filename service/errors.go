package service

import (
	"maps"
	"net/http"
	"time"
)

// Error is the domain error services return when the client should learn
// what went wrong. The API maps it to the error envelope: Status becomes the
// HTTP status and `code`, Code becomes `meta.error_code`, Message becomes
// `error` and Details becomes `details`. Err is the internal cause: it is
// logged and reachable through errors.Is / errors.As, but never sent to the
// client.
type Error struct {
	// Status is the HTTP status code, such as 404.
	Status int
	// Code is one of the Code… constants in codes.go.
	Code string
	// Message is a client-facing explanation; it must not contain secrets or
	// internal detail.
	Message string
	// Details is optional structured, client-facing context, such as the
	// conflicting resource's ID.
	Details map[string]any
	// Err is the optional internal cause.
	Err error
}

// Error returns the code and message, followed by the cause if there is one.
func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the internal cause, so errors.Is and errors.As see through
// the domain error.
func (e *Error) Unwrap() error { return e.Err }

// WithDetails returns a copy of e whose Details also hold details (later keys
// win). It copies rather than mutates so that a package-level error value can
// be decorated per call without data races.
func (e *Error) WithDetails(details map[string]any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+len(details))
	maps.Copy(c.Details, e.Details)
	maps.Copy(c.Details, details)
	return &c
}

// WithErr returns a copy of e with err as its internal cause.
func (e *Error) WithErr(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// NotFound returns a 404 error: the addressed resource does not exist.
func NotFound(code, msg string) *Error { return newError(http.StatusNotFound, code, msg) }

// Conflict returns a 409 error: the request conflicts with existing state.
func Conflict(code, msg string) *Error { return newError(http.StatusConflict, code, msg) }

// Invalid returns a 422 error: the input is well-formed but breaks a rule.
func Invalid(code, msg string) *Error { return newError(http.StatusUnprocessableEntity, code, msg) }

// Unauthorized returns a 401 error: the caller has no valid credentials.
func Unauthorized(code, msg string) *Error { return newError(http.StatusUnauthorized, code, msg) }

// Forbidden returns a 403 error: the caller may not perform the operation.
func Forbidden(code, msg string) *Error { return newError(http.StatusForbidden, code, msg) }

// Unavailable returns a 503 error: a dependency is temporarily unavailable.
func Unavailable(code, msg string) *Error { return newError(http.StatusServiceUnavailable, code, msg) }

// RateLimited returns a 429 error: the caller exceeded a rate limit.
func RateLimited(code, msg string) *Error { return newError(http.StatusTooManyRequests, code, msg) }

// DetailRetryAfter is the Details key of the whole seconds a client should
// wait before retrying a 429 or 503. The API also sends it as the
// Retry-After header.
const DetailRetryAfter = "retry_after_seconds"

// WithRetryAfter returns a copy of e telling the client to retry after d,
// rounded up to whole seconds (at least 1).
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	secs := int((d + time.Second - 1) / time.Second)
	return e.WithDetails(map[string]any{DetailRetryAfter: max(secs, 1)})
}

func newError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}
