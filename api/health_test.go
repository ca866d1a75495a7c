package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/health"
	"github.com/reviewdata/rd/service"
)

func okCheck(name string) health.Check {
	return health.Check{Name: name, Ping: func(context.Context) error { return nil }}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{}, health.Check{Name: "broken", Ping: func(context.Context) error { return errors.New("down") }})

	resp, raw := b.do(t, http.MethodGet, "/healthz", "", nil)

	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"status":"ok"}`, string(raw), "liveness ignores dependencies")
	line := b.logLine(t, resp.Header.Get(RequestIDHeader), "http request")
	require.Equal(t, "DEBUG", line["level"], "probes log below info")
}

func TestReadyzAllOK(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{}, okCheck("postgres"), okCheck("redis"))

	resp, raw := b.do(t, http.MethodGet, "/readyz", "", nil)

	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", raw)
	var body struct {
		Status string           `json:"status"`
		Checks []map[string]any `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(raw, &body))
	require.Equal(t, "ok", body.Status)
	require.Len(t, body.Checks, 2)
	for i, name := range []string{"postgres", "redis"} {
		require.Equal(t, name, body.Checks[i]["name"])
		require.Equal(t, "ok", body.Checks[i]["status"])
		require.IsType(t, float64(0), body.Checks[i]["latency_ms"])
		require.NotContains(t, body.Checks[i], "error")
	}
}

func TestReadyzOneFailing(t *testing.T) {
	t.Parallel()
	const delay = 20 * time.Millisecond
	failing := health.Check{Name: "redis", Ping: func(ctx context.Context) error {
		time.Sleep(delay)
		return errors.New("dial tcp: connection refused")
	}}
	b := setup(t, Config{}, okCheck("postgres"), failing)

	resp, raw := b.do(t, http.MethodGet, "/readyz", "", nil)

	details := requireEnvelope(t, resp, raw, http.StatusServiceUnavailable, service.CodeNotReady)
	checks := requireChecks(t, details)
	require.Equal(t, "postgres", checks[0]["name"])
	require.Equal(t, "ok", checks[0]["status"])
	require.Equal(t, "redis", checks[1]["name"])
	require.Equal(t, "error", checks[1]["status"])
	require.Equal(t, "dial tcp: connection refused", checks[1]["error"])
	require.GreaterOrEqual(t, checks[1]["latency_ms"], float64(delay.Milliseconds()))
	var body map[string]any
	require.NoError(t, json.Unmarshal(raw, &body))
	require.Contains(t, body["error"], "redis")
	require.NotContains(t, body["error"], "postgres")
}

func TestReadyzBoundsEachCheck(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hanging := health.Check{Name: "temporal", Ping: func(context.Context) error {
		<-release // ignores its context, as a careless probe might
		return nil
	}}
	panicking := health.Check{Name: "s3", Ping: func(context.Context) error { panic("boom") }}
	b := setup(t, Config{CheckTimeout: 50 * time.Millisecond}, hanging, panicking, okCheck("postgres"))

	resp, raw := b.do(t, http.MethodGet, "/readyz", "", nil)

	checks := requireChecks(t, requireEnvelope(t, resp, raw, http.StatusServiceUnavailable, service.CodeNotReady))
	require.Equal(t, "no answer within 50ms", checks[0]["error"])
	require.Equal(t, "check panicked: boom", checks[1]["error"])
	require.Equal(t, "ok", checks[2]["status"])
}

func requireChecks(t *testing.T, details map[string]any) []map[string]any {
	t.Helper()
	require.Len(t, details, 1)
	list, ok := details["checks"].([]any)
	require.True(t, ok, "details.checks is a list: %v", details)
	checks := make([]map[string]any, len(list))
	for i, c := range list {
		checks[i], ok = c.(map[string]any)
		require.True(t, ok)
		require.IsType(t, float64(0), checks[i]["latency_ms"])
	}
	return checks
}
