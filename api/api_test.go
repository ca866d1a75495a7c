package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/health"
	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/service"
)

// testBundle is a running API behind a real HTTP server, with its log.
type testBundle struct {
	url  string
	logs *syncBuffer
}

// setup starts the API with cfg and checks, plus the test-only operations of
// registerTestOps.
func setup(t *testing.T, cfg Config, checks ...health.Check) *testBundle {
	t.Helper()
	logs := &syncBuffer{}
	logger, err := logging.New(logging.Config{Level: slog.LevelDebug}, logs)
	require.NoError(t, err)
	h, err := newHandler(cfg, Deps{Logger: logger, Checks: checks, Registry: prometheus.NewRegistry()}, registerTestOps)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testBundle{url: srv.URL, logs: logs}
}

// thingInput exercises Huma's body validation.
type thingInput struct {
	Body struct {
		Name  string `json:"name" minLength:"3"`
		Count int    `json:"count" minimum:"1"`
	}
}

type thingOutput struct {
	Body struct {
		Name string `json:"name"`
	}
}

type thingIDInput struct {
	ID string `path:"id"`
}

const (
	panicText = "secret panic text"
	causeText = "pq: duplicate key value violates constraint, password=hunter2"
)

// registerTestOps adds operations that fail in each way a real one can.
func registerTestOps(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "create-thing", Method: http.MethodPost, Path: "/things"},
		func(_ context.Context, in *thingInput) (*thingOutput, error) {
			out := &thingOutput{}
			out.Body.Name = in.Body.Name
			return out, nil
		})
	huma.Register(api, huma.Operation{OperationID: "get-thing", Method: http.MethodGet, Path: "/things/{id}"},
		func(context.Context, *thingIDInput) (*thingOutput, error) { return &thingOutput{}, nil })
	huma.Register(api, huma.Operation{OperationID: "panic", Method: http.MethodGet, Path: "/panic"},
		func(context.Context, *struct{}) (*thingOutput, error) { panic(panicText) })
	huma.Register(api, huma.Operation{OperationID: "conflict", Method: http.MethodPost, Path: "/conflict"},
		func(context.Context, *struct{}) (*thingOutput, error) {
			return nil, service.Conflict("DUPLICATE_LOCATION", "location already exists").
				WithDetails(map[string]any{"external_location_id": "loc-1"}).WithErr(errors.New(causeText))
		})
	huma.Register(api, huma.Operation{OperationID: "fail", Method: http.MethodGet, Path: "/fail"},
		func(context.Context, *struct{}) (*thingOutput, error) { return nil, errors.New(causeText) })
	huma.Register(api, huma.Operation{OperationID: "huma-not-found", Method: http.MethodGet, Path: "/huma-404"},
		func(context.Context, *struct{}) (*thingOutput, error) {
			return nil, huma.Error404NotFound("no such thing")
		})
}

func (b *testBundle) do(t *testing.T, method, path, body string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.url+path, r)
	require.NoError(t, err)
	maps.Copy(req.Header, header)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, raw
}

// requireEnvelope asserts raw is exactly the error envelope for status and
// code, tied to resp's request ID, and returns its details.
func requireEnvelope(t *testing.T, resp *http.Response, raw []byte, status int, code string) map[string]any {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "body: %s", raw)
	mediaType, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "application/json", mediaType)

	var body map[string]any
	require.NoError(t, json.Unmarshal(raw, &body), "body: %s", raw)
	require.ElementsMatch(t, []string{"code", "status", "error", "details", "meta"}, slices.Collect(maps.Keys(body)))
	require.Equal(t, float64(status), body["code"])
	require.Equal(t, "failed", body["status"])
	require.IsType(t, "", body["error"])
	require.NotEmpty(t, body["error"])
	require.IsType(t, map[string]any{}, body["details"])

	meta, ok := body["meta"].(map[string]any)
	require.True(t, ok, "meta is an object")
	require.ElementsMatch(t, []string{"request_id", "timestamp", "error_code"}, slices.Collect(maps.Keys(meta)))
	require.NotEmpty(t, resp.Header.Get(RequestIDHeader))
	require.Equal(t, resp.Header.Get(RequestIDHeader), meta["request_id"])
	ts, ok := meta["timestamp"].(string)
	require.True(t, ok, "timestamp is a string")
	require.Len(t, ts, len("2006-01-02T15:04:05.000Z"), "fixed-width milliseconds")
	parsed, err := time.Parse(time.RFC3339, ts)
	require.NoError(t, err)
	require.Equal(t, time.UTC, parsed.Location())
	require.WithinDuration(t, time.Now(), parsed, time.Minute)
	require.Equal(t, code, meta["error_code"])
	return body["details"].(map[string]any)
}

// logLine waits for the access log line of the request with id (it is
// written after the response) and returns it decoded.
func (b *testBundle) logLine(t *testing.T, id, msg string) map[string]any {
	t.Helper()
	var found map[string]any
	require.Eventually(t, func() bool {
		found = b.logs.find(id, msg)
		return found != nil
	}, 5*time.Second, 5*time.Millisecond, "no %q log line for request %s in:\n%s", msg, id, b.logs.String())
	return found
}

// syncBuffer is a log sink safe to read while the server writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// find returns the first JSON log line with request_id id and message msg.
func (s *syncBuffer) find(id, msg string) map[string]any {
	for line := range strings.Lines(s.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["request_id"] == id && rec["msg"] == msg {
			return rec
		}
	}
	return nil
}
