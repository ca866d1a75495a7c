package api

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})

	resp, _ := b.do(t, http.MethodGet, "/things/42", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = b.do(t, http.MethodGet, "/no/such/route", "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = b.do(t, "BREW", "/healthz", "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	resp, raw := b.do(t, http.MethodGet, "/metrics", "", nil)

	require.Equal(t, http.StatusOK, resp.StatusCode)
	text := string(raw)
	require.Contains(t, text, `rd_http_requests_total{method="GET",route="/things/{id}",status="200"} 1`)
	require.Contains(t, text, `rd_http_requests_total{method="GET",route="unmatched",status="404"} 1`)
	require.Contains(t, text, `method="OTHER"`, "unknown methods are folded")
	require.NotContains(t, text, "/things/42", "never the raw path")
	require.NotContains(t, text, "BREW")
	require.Contains(t, text, `rd_http_request_duration_seconds_count{method="GET",route="/things/{id}"} 1`)
	require.Contains(t, text, "go_goroutines")
	require.Contains(t, text, "process_cpu_seconds_total")
}

func TestNewMetricsReusesRegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()

	first, err := newMetrics(reg)
	require.NoError(t, err)
	second, err := newMetrics(reg)
	require.NoError(t, err)

	require.Same(t, first.requests, second.requests)
}
