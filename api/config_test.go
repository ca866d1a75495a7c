package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/health"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()

	cfg, err := Config{}.WithDefaults()

	require.NoError(t, err)
	require.Equal(t, Config{
		Addr:              "127.0.0.1:8080",
		MaxBodyBytes:      1 << 20,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ShutdownTimeout:   15 * time.Second,
		CheckTimeout:      2 * time.Second,
		Version:           "dev",
	}, cfg)
}

func TestConfigInvalid(t *testing.T) {
	t.Parallel()

	_, err := Config{Addr: "8080", MaxBodyBytes: -1, WriteTimeout: -time.Second, CheckTimeout: -1}.WithDefaults()

	require.ErrorContains(t, err, `Addr "8080" is not host:port`)
	require.ErrorContains(t, err, "MaxBodyBytes is -1; use a positive byte count")
	require.ErrorContains(t, err, "WriteTimeout is -1s")
	require.ErrorContains(t, err, "CheckTimeout is -1ns")
}

func TestNewHandlerRejectsBadDeps(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	ping := func(context.Context) error { return nil }

	for _, tt := range []struct {
		name string
		cfg  Config
		deps Deps
		want string
	}{
		{"no logger", Config{}, Deps{}, "Deps.Logger is nil"},
		{"bad config", Config{Addr: "nope"}, Deps{Logger: logger}, "is not host:port"},
		{"unnamed check", Config{}, Deps{Logger: logger, Checks: []health.Check{{Ping: ping}}}, "Checks[0] has no Name"},
		{"duplicate check", Config{}, Deps{Logger: logger, Checks: []health.Check{{Name: "pg", Ping: ping}, {Name: "pg", Ping: ping}}}, `two checks named "pg"`},
		{"check without ping", Config{}, Deps{Logger: logger, Checks: []health.Check{{Name: "pg"}}}, `check "pg" has no Ping`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewHandler(tt.cfg, tt.deps)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestNewServer(t *testing.T) {
	t.Parallel()
	h := http.NewServeMux()

	srv := NewServer(Config{Addr: ":9999", WriteTimeout: time.Minute}, h)

	require.Equal(t, ":9999", srv.Addr)
	require.Same(t, h, srv.Handler)
	require.Equal(t, 5*time.Second, srv.ReadHeaderTimeout)
	require.Equal(t, 30*time.Second, srv.ReadTimeout)
	require.Equal(t, time.Minute, srv.WriteTimeout)
	require.Equal(t, 120*time.Second, srv.IdleTimeout)
}

func TestServe(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	h, err := NewHandler(Config{}, Deps{Logger: logger})
	require.NoError(t, err)

	t.Run("shuts down when the context ends", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		addrc := make(chan string, 1)
		ready := func(addr string) { addrc <- addr }
		go func() { errc <- Serve(ctx, NewServer(Config{Addr: "127.0.0.1:0"}, h), time.Second, ready) }()

		resp, err := http.Get("http://" + <-addrc + "/healthz")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode, "serving on the address given to ready")
		cancel()

		require.NoError(t, <-errc)
	})
	t.Run("reports a listen error", func(t *testing.T) {
		t.Parallel()
		err := Serve(t.Context(), NewServer(Config{Addr: "127.0.0.1:-1"}, h), time.Second, nil)
		require.ErrorContains(t, err, "api: serve 127.0.0.1:-1")
	})
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Version: "1.2.3"})

	resp, raw := b.do(t, http.MethodGet, "/openapi.json", "", nil)

	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Title   string `json:"title"`
			Version string `json:"version"`
		} `json:"info"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.Equal(t, "ReviewData API", doc.Info.Title)
	require.Equal(t, "1.2.3", doc.Info.Version)
	require.Contains(t, doc.Paths, "/healthz")
	require.Contains(t, doc.Paths, "/readyz")
	require.Contains(t, doc.Components.Schemas, "ErrorEnvelope")
	require.Contains(t, string(doc.Paths["/readyz"]["get"]), `"503"`)
	require.Contains(t, string(doc.Paths["/readyz"]["get"]), `#/components/schemas/ErrorEnvelope`)

	resp, _ = b.do(t, http.MethodGet, "/docs", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
