package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/service"
)

// ErrorEnvelope is the body of every error response (DESIGN.md, "Errors").
// Huma documents it as the error schema of every operation.
type ErrorEnvelope struct {
	Code    int            `json:"code" example:"409" doc:"The HTTP status code, repeated."`
	Status  string         `json:"status" enum:"failed" doc:"Always \"failed\"."`
	Message string         `json:"error" example:"location already exists" doc:"What went wrong, for humans."`
	Details map[string]any `json:"details" doc:"Structured context, possibly empty. For VALIDATION_FAILED and MALFORMED_JSON: each location, such as \"body.name\", mapped to its messages."`
	Meta    ErrorMeta      `json:"meta"`
}

// ErrorMeta identifies one error occurrence.
type ErrorMeta struct {
	RequestID string `json:"request_id" doc:"The request's ID, also in the X-Request-ID response header."`
	Timestamp string `json:"timestamp" format:"date-time" example:"2025-01-31T12:00:00.000Z" doc:"When the error was answered, RFC 3339 in UTC with milliseconds."`
	ErrorCode string `json:"error_code" example:"DUPLICATE_LOCATION" doc:"Stable SCREAMING_SNAKE_CASE code to branch on."`
}

// Error returns the error code and message, so an envelope is an error.
func (e *ErrorEnvelope) Error() string { return e.Meta.ErrorCode + ": " + e.Message }

// GetStatus returns the HTTP status, making an envelope a huma.StatusError
// that Huma writes as-is.
func (e *ErrorEnvelope) GetStatus() int { return e.Code }

// Huma builds every error it answers (validation, parse, body read, and
// errors returned by handlers) through these two package variables, so
// replacing them routes all of Huma's errors through mapError. They are
// process-wide, and must be set before the first operation is registered:
// registration reads NewError's type as the documented error schema.
func init() {
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		// No request here; stampRequestID fills the ID in on the way out.
		return mapError(context.Background(), &humaError{status: status, msg: msg, errs: errs})
	}
	huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		ctx := hctx.Context()
		var err error = &humaError{status: status, msg: msg, errs: errs}
		logged := err
		if status == http.StatusInternalServerError && len(errs) == 1 {
			// A handler's error arrives as the one detail of a generic 500;
			// the log wants it, not Huma's "unexpected error occurred".
			logged = errs[0]
		}
		recordError(ctx, logged)
		env := mapError(ctx, err)
		if secs, ok := env.retryAfter(); ok {
			hctx.SetHeader("Retry-After", secs)
		}
		return env
	}
}

// retryAfter returns the Retry-After header value of a 429 or 503 envelope
// whose service error said when to retry (service.Error.WithRetryAfter).
func (e *ErrorEnvelope) retryAfter() (string, bool) {
	if e.Code != http.StatusTooManyRequests && e.Code != http.StatusServiceUnavailable {
		return "", false
	}
	secs, ok := e.Details[service.DetailRetryAfter].(int)
	if !ok || secs < 1 {
		return "", false
	}
	return strconv.Itoa(secs), true
}

// humaError is an error as Huma describes it, before mapping.
type humaError struct {
	status int
	msg    string
	errs   []error
}

// Error joins the message with each detail's location and message, leaving
// out the offending values: for a parse error that is the whole body.
func (e *humaError) Error() string {
	parts := []string{e.msg}
	for _, err := range e.errs {
		if d, ok := err.(huma.ErrorDetailer); ok {
			detail := d.ErrorDetail()
			parts = append(parts, detail.Location+": "+detail.Message)
		} else if err != nil {
			parts = append(parts, err.Error())
		}
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes the details to errors.As: a handler's *service.Error, or
// the *http.MaxBytesError of an oversized body, arrives wrapped in one.
func (e *humaError) Unwrap() []error { return e.errs }

// humaCodes names the 4xx statuses Huma produces by itself.
var humaCodes = map[int]string{
	http.StatusBadRequest:            service.CodeBadRequest,
	http.StatusUnauthorized:          service.CodeUnauthorized,
	http.StatusForbidden:             service.CodeForbidden,
	http.StatusNotFound:              service.CodeNotFound,
	http.StatusMethodNotAllowed:      service.CodeMethodNotAllowed,
	http.StatusNotAcceptable:         service.CodeNotAcceptable,
	http.StatusRequestTimeout:        service.CodeRequestTimeout,
	http.StatusConflict:              service.CodeConflict,
	http.StatusRequestEntityTooLarge: service.CodePayloadTooLarge,
	http.StatusUnsupportedMediaType:  service.CodeUnsupportedMediaType,
	http.StatusUnprocessableEntity:   service.CodeValidationFailed,
	http.StatusTooManyRequests:       service.CodeRateLimited,
}

// mapError is the one place an error becomes the envelope a client sees:
//   - a *service.Error anywhere in err's chain keeps its status, code,
//     message and details (never its cause);
//   - an *ErrorEnvelope (huma.Error404NotFound and friends) keeps its fields;
//   - an *http.MaxBytesError is 413 PAYLOAD_TOO_LARGE;
//   - Huma's own 4xx errors get a code by status, per-location details, and
//     MALFORMED_JSON for a body that does not parse;
//   - anything else is 500 INTERNAL_ERROR without its text.
//
// The request ID comes from ctx (see logging.WithRequestID).
func mapError(ctx context.Context, err error) *ErrorEnvelope {
	var (
		domain   *service.Error
		envelope *ErrorEnvelope
		tooLarge *http.MaxBytesError
		fromHuma *humaError
	)
	switch {
	case errors.As(err, &domain) && isErrorStatus(domain.Status):
		return newEnvelope(ctx, domain.Status, domain.Code, domain.Message, domain.Details)
	case errors.As(err, &envelope) && envelope.Code < http.StatusInternalServerError:
		return newEnvelope(ctx, envelope.Code, envelope.Meta.ErrorCode, envelope.Message, envelope.Details)
	case errors.As(err, &tooLarge):
		msg := fmt.Sprintf("request body exceeds the limit of %d bytes", tooLarge.Limit)
		return newEnvelope(ctx, http.StatusRequestEntityTooLarge, service.CodePayloadTooLarge, msg, nil)
	case errors.As(err, &fromHuma) && fromHuma.status < http.StatusInternalServerError:
		return humaEnvelope(ctx, fromHuma)
	default:
		return newEnvelope(ctx, http.StatusInternalServerError, service.CodeInternal, "internal server error", nil)
	}
}

// humaEnvelope maps one of Huma's client errors. Its messages are Huma's own
// ("validation failed", "request body is required"), safe to pass on.
func humaEnvelope(ctx context.Context, e *humaError) *ErrorEnvelope {
	code, ok := humaCodes[e.status]
	if !ok {
		code = service.CodeBadRequest
	}
	details := locationDetails(e.errs)
	msg := e.msg
	// Huma answers an unparseable body with 400 and a detail located at
	// "body"; nothing else in Huma yields that pair.
	if _, bodyErr := details["body"]; bodyErr && e.status == http.StatusBadRequest {
		code, msg = service.CodeMalformedJSON, "request body is not valid JSON"
	}
	return newEnvelope(ctx, e.status, code, msg, details)
}

// locationDetails groups error messages by location ("body.name",
// "query.limit"); errors without one go under "request". Values are left
// out: echoing input back helps little and may repeat secrets.
func locationDetails(errs []error) map[string]any {
	byLocation := map[string][]string{}
	for _, err := range errs {
		loc, msg := "request", ""
		if d, ok := err.(huma.ErrorDetailer); ok {
			detail := d.ErrorDetail()
			msg = detail.Message
			if detail.Location != "" {
				loc = detail.Location
			}
		} else if err != nil {
			msg = err.Error()
		} else {
			continue
		}
		byLocation[loc] = append(byLocation[loc], msg)
	}
	details := make(map[string]any, len(byLocation))
	for loc, msgs := range byLocation {
		details[loc] = msgs
	}
	return details
}

func newEnvelope(ctx context.Context, status int, code, msg string, details map[string]any) *ErrorEnvelope {
	if details == nil {
		details = map[string]any{} // the envelope always has an object here
	}
	return &ErrorEnvelope{
		Code:    status,
		Status:  "failed",
		Message: msg,
		Details: details,
		Meta: ErrorMeta{
			RequestID: logging.RequestID(ctx),
			Timestamp: time.Now().UTC().Format(timestampLayout),
			ErrorCode: code,
		},
	}
}

// timestampLayout is RFC 3339 with fixed-width milliseconds, so that
// timestamps line up and sort as text.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

func isErrorStatus(status int) bool { return status >= 400 && status <= 599 }

// stampRequestID fills in the request ID of envelopes built without a
// request: those from huma.NewError, such as a handler returning
// huma.Error404NotFound. It copies, since such an envelope may be shared.
func stampRequestID(hctx huma.Context, _ string, v any) (any, error) {
	env, ok := v.(*ErrorEnvelope)
	if !ok || env.Meta.RequestID != "" {
		return v, nil
	}
	stamped := *env
	stamped.Meta.RequestID = logging.RequestID(hctx.Context())
	return &stamped, nil
}

// writeError answers r with err's envelope, for the paths outside Huma:
// unknown routes, wrong methods and panics.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	recordError(r.Context(), err)
	env := mapError(r.Context(), err)
	if secs, ok := env.retryAfter(); ok {
		w.Header().Set("Retry-After", secs)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(env.Code)
	// The status is sent; a failed write means the client went away.
	_ = json.NewEncoder(w).Encode(env)
}
