package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/service"
)

func TestMapError(t *testing.T) {
	t.Parallel()

	conflict := service.Conflict("DUPLICATE_LOCATION", "location already exists").
		WithDetails(map[string]any{"id": "loc-1"}).WithErr(errors.New("pq: secret"))
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
		details map[string]any
	}{
		{
			name: "domain error keeps its fields but not its cause", err: conflict,
			status: 409, code: "DUPLICATE_LOCATION", message: "location already exists",
			details: map[string]any{"id": "loc-1"},
		},
		{
			name: "wrapped domain error", err: fmt.Errorf("creating location: %w", conflict),
			status: 409, code: "DUPLICATE_LOCATION", message: "location already exists",
			details: map[string]any{"id": "loc-1"},
		},
		{
			name: "domain error returned through Huma", err: &humaError{status: 500, msg: "unexpected error occurred", errs: []error{conflict}},
			status: 409, code: "DUPLICATE_LOCATION", message: "location already exists",
			details: map[string]any{"id": "loc-1"},
		},
		{
			name: "domain error without a valid status", err: &service.Error{Code: "X", Message: "m"},
			status: 500, code: service.CodeInternal, message: "internal server error", details: map[string]any{},
		},
		{
			name: "Huma validation", err: &humaError{status: 422, msg: "validation failed", errs: []error{
				&huma.ErrorDetail{Location: "body.name", Message: "expected length >= 3", Value: "ab"},
				&huma.ErrorDetail{Location: "body.name", Message: "expected pattern"},
				&huma.ErrorDetail{Location: "query.limit", Message: "expected number <= 100"},
			}},
			status: 422, code: service.CodeValidationFailed, message: "validation failed",
			details: map[string]any{
				"body.name":   []string{"expected length >= 3", "expected pattern"},
				"query.limit": []string{"expected number <= 100"},
			},
		},
		{
			name: "Huma parse error", err: &humaError{status: 400, msg: "validation failed", errs: []error{
				&huma.ErrorDetail{Location: "body", Message: "unexpected end of JSON input", Value: `{"name":`},
			}},
			status: 400, code: service.CodeMalformedJSON, message: "request body is not valid JSON",
			details: map[string]any{"body": []string{"unexpected end of JSON input"}},
		},
		{
			name: "Huma 400 without a body detail", err: &humaError{status: 400, msg: "request body is required"},
			status: 400, code: service.CodeBadRequest, message: "request body is required", details: map[string]any{},
		},
		{
			name: "Huma 413", err: &humaError{status: 413, msg: "request body is too large"},
			status: 413, code: service.CodePayloadTooLarge, message: "request body is too large", details: map[string]any{},
		},
		{
			name: "oversized body read by Huma", err: &humaError{status: 500, msg: "cannot read request body", errs: []error{&http.MaxBytesError{Limit: 10}}},
			status: 413, code: service.CodePayloadTooLarge, message: "request body exceeds the limit of 10 bytes", details: map[string]any{},
		},
		{
			name: "Huma error without location", err: &humaError{status: 406, msg: "unable to marshal response", errs: []error{errors.New("unknown type")}},
			status: 406, code: service.CodeNotAcceptable, message: "unable to marshal response",
			details: map[string]any{"request": []string{"unknown type"}},
		},
		{
			name: "Huma 4xx without a code of its own", err: &humaError{status: 412, msg: "precondition failed"},
			status: 412, code: service.CodeBadRequest, message: "precondition failed", details: map[string]any{},
		},
		{
			name: "envelope from huma.Error404NotFound", err: huma.Error404NotFound("no such thing"),
			status: 404, code: service.CodeNotFound, message: "no such thing", details: map[string]any{},
		},
		{
			name: "envelope from huma.Error500InternalServerError hides its text", err: huma.Error500InternalServerError("db: " + causeText),
			status: 500, code: service.CodeInternal, message: "internal server error", details: map[string]any{},
		},
		{
			name: "Huma 500 hides the handler's error", err: &humaError{status: 500, msg: "unexpected error occurred", errs: []error{errors.New(causeText)}},
			status: 500, code: service.CodeInternal, message: "internal server error", details: map[string]any{},
		},
		{
			name: "anything else", err: errors.New(causeText),
			status: 500, code: service.CodeInternal, message: "internal server error", details: map[string]any{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := logging.WithRequestID(context.Background(), "req-1")
			got := mapError(ctx, tt.err)

			require.Equal(t, tt.status, got.Code)
			require.Equal(t, tt.status, got.GetStatus())
			require.Equal(t, "failed", got.Status)
			require.Equal(t, tt.message, got.Message)
			require.Equal(t, tt.details, got.Details)
			require.Equal(t, tt.code, got.Meta.ErrorCode)
			require.Equal(t, "req-1", got.Meta.RequestID)
			ts, err := time.Parse(time.RFC3339, got.Meta.Timestamp)
			require.NoError(t, err)
			require.Equal(t, time.UTC, ts.Location())
			require.WithinDuration(t, time.Now(), ts, time.Minute)
			require.NotContains(t, got.Message, "secret")
			require.NotContains(t, got.Message, "hunter2")
		})
	}
}

func TestValidationError(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})

	resp, raw := b.do(t, http.MethodPost, "/things", `{"name":"ab","count":0}`, nil)

	details := requireEnvelope(t, resp, raw, http.StatusUnprocessableEntity, service.CodeValidationFailed)
	require.Len(t, details, 2)
	require.Len(t, details["body.name"], 1)
	require.Contains(t, details["body.name"].([]any)[0], "length")
	require.Len(t, details["body.count"], 1)
	require.Contains(t, details["body.count"].([]any)[0], "1")
	line := b.logLine(t, resp.Header.Get(RequestIDHeader), "http request")
	require.Equal(t, "WARN", line["level"])
}

func TestMalformedJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})

	resp, raw := b.do(t, http.MethodPost, "/things", `{"name": "sneaky`, nil)

	details := requireEnvelope(t, resp, raw, http.StatusBadRequest, service.CodeMalformedJSON)
	require.Contains(t, details, "body")
	require.NotContains(t, string(raw), "sneaky", "the body is not echoed")
	line := b.logLine(t, resp.Header.Get(RequestIDHeader), "http request")
	require.NotContains(t, line["error"], "sneaky", "nor logged")
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})

	resp, raw := b.do(t, http.MethodGet, "/no/such/route", "", nil)

	requireEnvelope(t, resp, raw, http.StatusNotFound, service.CodeRouteNotFound)
	line := b.logLine(t, resp.Header.Get(RequestIDHeader), "http request")
	require.Equal(t, "WARN", line["level"])
	require.Equal(t, "unmatched", line["route"])
}

func TestWrongMethod(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})

	resp, raw := b.do(t, http.MethodDelete, "/healthz", "", nil)

	requireEnvelope(t, resp, raw, http.StatusMethodNotAllowed, service.CodeMethodNotAllowed)
	require.Equal(t, "GET", resp.Header.Get("Allow"))
}

func TestPayloadTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 1024
	b := setup(t, Config{MaxBodyBytes: limit})
	// Valid JSON, so only its size can fail it.
	oversized := `{"name":"` + strings.Repeat("x", 4*limit) + `","count":1}`

	for _, tt := range []struct {
		name          string
		contentLength int64
	}{
		{"with Content-Length", int64(len(oversized))},
		{"chunked", -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.url+"/things",
				io.NopCloser(strings.NewReader(oversized)))
			require.NoError(t, err)
			req.ContentLength = tt.contentLength // -1 makes the client send it chunked
			req.Header.Set("Content-Type", "application/json")

			resp, raw := send(t, req)

			details := requireEnvelope(t, resp, raw, http.StatusRequestEntityTooLarge, service.CodePayloadTooLarge)
			require.Empty(t, details)
		})
	}

	t.Run("exactly the default limit passes", func(t *testing.T) {
		t.Parallel()
		// Huma's own limit rejects a body of exactly its size; this proves
		// limitBody is the only limit.
		b := setup(t, Config{})
		const size = 1 << 20
		body := `{"count":1,"name":"` + strings.Repeat("x", size-len(`{"count":1,"name":""}`)) + `"}`
		require.Len(t, body, size)

		resp, raw := b.do(t, http.MethodPost, "/things", body, nil)

		require.Equal(t, http.StatusOK, resp.StatusCode, "body: %.200s", raw)
	})
}

func TestPanic(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})

	resp, raw := b.do(t, http.MethodGet, "/panic", "", nil)

	requireEnvelope(t, resp, raw, http.StatusInternalServerError, service.CodeInternal)
	require.NotContains(t, string(raw), panicText)
	id := resp.Header.Get(RequestIDHeader)
	line := b.logLine(t, id, "panic serving request")
	require.Equal(t, "ERROR", line["level"])
	require.Equal(t, panicText, line["panic"])
	require.Contains(t, line["stack"], "goroutine")
	require.Contains(t, line["stack"], "registerTestOps", "the stack reaches the panicking handler")
	access := b.logLine(t, id, "http request")
	require.Equal(t, "ERROR", access["level"])
	require.Equal(t, float64(500), access["status"])
}

func TestDomainError(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})

	resp, raw := b.do(t, http.MethodPost, "/conflict", "", nil)

	details := requireEnvelope(t, resp, raw, http.StatusConflict, "DUPLICATE_LOCATION")
	require.Equal(t, map[string]any{"external_location_id": "loc-1"}, details)
	require.NotContains(t, string(raw), "hunter2")
	line := b.logLine(t, resp.Header.Get(RequestIDHeader), "http request")
	require.Equal(t, "WARN", line["level"])
	require.Contains(t, line["error"], causeText, "the cause is logged")
}

func TestUnexpectedError(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})

	resp, raw := b.do(t, http.MethodGet, "/fail", "", nil)

	requireEnvelope(t, resp, raw, http.StatusInternalServerError, service.CodeInternal)
	require.NotContains(t, string(raw), "hunter2")
	line := b.logLine(t, resp.Header.Get(RequestIDHeader), "http request")
	require.Equal(t, "ERROR", line["level"])
	require.Contains(t, line["error"], causeText)
}

func TestHumaErrorGetsRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})

	resp, raw := b.do(t, http.MethodGet, "/huma-404", "", nil)

	requireEnvelope(t, resp, raw, http.StatusNotFound, service.CodeNotFound)
}
