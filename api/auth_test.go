package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/authtoken"
	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/internal/password"
	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/internal/ratelimit"
	"github.com/reviewdata/rd/internal/redistest"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// cheapPasswords keep Argon2id fast in tests.
var cheapPasswords = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testPassword = "correct horse battery"

// authBundle is the API with every account service, on a real database and
// a Redis key space of the test's own.
type authBundle struct {
	*testBundle
	ctx     context.Context
	store   *store.Store
	redis   *redis.Client
	issuer  *authtoken.Issuer
	users   *service.Users
	apiKeys *service.APIKeys
	huma    huma.API
	router  chi.Routes
}

// authOptions vary setupAuth.
type authOptions struct {
	redis       *redis.Client // default: the test Redis
	sessions    func(*service.SessionsConfig)
	apiKeyLimit int
	extra       func(huma.API)
}

var (
	authStoreOnce sync.Once
	authStore     *store.Store
)

// sharedAuthStore is one migrated database for the package's auth tests:
// services run their own transactions, and every test uses unique emails,
// role names and keys.
func sharedAuthStore(t *testing.T) *store.Store {
	t.Helper()
	authStoreOnce.Do(func() {
		// The database outlives this test (its cleanup is dropped); the
		// next run's stale-database sweep removes it.
		st, err := store.Open(context.Background(), store.Config{DatabaseURL: pgtest.NewDatabase(&noCleanup{T: t}), MaxConns: 20})
		require.NoError(t, err)
		authStore = st
	})
	require.NotNil(t, authStore, "shared auth test database")
	return authStore
}

type noCleanup struct{ *testing.T }

func (noCleanup) Cleanup(func()) {}

func setupAuth(t *testing.T, opts authOptions) *authBundle {
	t.Helper()
	st := sharedAuthStore(t)
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	if opts.redis == nil {
		opts.redis = rdb
	}
	logs := &syncBuffer{}
	logger, err := logging.New(logging.Config{Level: slog.LevelDebug}, logs)
	require.NoError(t, err)

	issuer := &authtoken.Issuer{Keys: []authtoken.Key{{ID: "test", Secret: bytes.Repeat([]byte("k"), 32)}}, Issuer: "rd-test"}
	cfg := service.SessionsConfig{
		Store: st, Tokens: issuer, Redis: opts.redis, KeyPrefix: prefix, PasswordParams: cheapPasswords,
		Logger: logger, LockoutThreshold: 3, LoginPerIPPerMinute: 1000,
	}
	if opts.sessions != nil {
		opts.sessions(&cfg)
	}
	sessions, err := service.NewSessions(cfg)
	require.NoError(t, err)
	integrators := &service.Integrators{Store: st, Logger: logger}
	users := &service.Users{Store: st, PasswordParams: cheapPasswords}
	apiKeys := &service.APIKeys{Store: st, Integrators: integrators}

	var captured huma.API
	h, err := newHandler(Config{}, Deps{
		Logger: logger, Registry: prometheus.NewRegistry(),
		Integrators: integrators, Sessions: sessions, Users: users, APIKeys: apiKeys,
		Publishers: &service.PublisherAdmin{Store: st},
		APIKeyLimits: &service.APIKeyLimits{
			Limiter: &ratelimit.Limiter{Redis: opts.redis, Prefix: prefix + "rl:"}, PerMinute: opts.apiKeyLimit, Logger: logger,
		},
	}, func(api huma.API) {
		captured = api
		if opts.extra != nil {
			opts.extra(api)
		}
	})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &authBundle{
		testBundle: &testBundle{url: srv.URL, logs: logs},
		ctx:        t.Context(), store: st, redis: rdb, issuer: issuer, users: users, apiKeys: apiKeys,
		huma: captured, router: h.(chi.Routes),
	}
}

func uniqueEmail() string { return "op-" + strings.ToLower(rand.Text()[:12]) + "@example.com" }

// newUser creates an account with testPassword and roles.
func (b *authBundle) newUser(t *testing.T, roles ...string) *store.User {
	t.Helper()
	u, err := b.users.Create(b.ctx, service.NewUser{Email: uniqueEmail(), Password: testPassword, Roles: roles}, nil)
	require.NoError(t, err)
	return u
}

// token signs a token of typ for u, as login would.
func (b *authBundle) token(t *testing.T, u *store.User, typ authtoken.TokenType) string {
	t.Helper()
	tok, _, err := b.issuer.IssueAccess(u.ID.String(), u.Roles, typ)
	require.NoError(t, err)
	return tok
}

// newAPIKey issues an integrator key and returns it in full.
func (b *authBundle) newAPIKey(t *testing.T, perMinute *int) string {
	t.Helper()
	created, err := b.apiKeys.Create(b.ctx, "test key", "it-"+strings.ToLower(rand.Text()[:6]), store.EnvironmentTest, perMinute)
	require.NoError(t, err)
	return created.Plain
}

// call sends body (JSON, or nothing when empty) with the given headers.
func (b *authBundle) call(t *testing.T, method, path, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	return b.do(t, method, path, body, h)
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(raw, &v), "body: %s", raw)
	return v
}

// integratorEchoOp is a test-only integrator operation.
func integratorEchoOp(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "test-integrator-echo", Method: http.MethodPost, Path: "/test/integrator-echo", Security: integratorOnly,
	}, func(ctx context.Context, _ *struct {
		Body struct {
			APIKey string `json:"api_key,omitempty"`
			Note   string `json:"note,omitempty"`
		}
	}) (*struct{ Body struct{ Integrator string } }, error) {
		out := &struct{ Body struct{ Integrator string } }{}
		out.Body.Integrator = integratorFrom(ctx).Name
		return out, nil
	})
}

func TestBearerAuthentication(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{})
	viewer := b.newUser(t, "viewer")
	admin := b.newUser(t, "admin")

	resp, raw := b.call(t, http.MethodGet, "/admin/users", "")
	requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidToken)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")

	for _, header := range []string{"Basic abc", "Bearer", "Bearer not.a.jwt", "Token " + b.token(t, admin, authtoken.TypeAccess)} {
		resp, raw := b.call(t, http.MethodGet, "/admin/users", "", "Authorization", header)
		requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidToken)
	}

	resp, raw = b.call(t, http.MethodGet, "/admin/users", "", bearer(b.token(t, viewer, authtoken.TypeAccess))...)
	details := requireEnvelope(t, resp, raw, http.StatusForbidden, service.CodePermissionDenied)
	require.Equal(t, service.PermUserManage, details["permission"])

	resp, raw = b.call(t, http.MethodGet, "/admin/users", "", "authorization", "bearer "+b.token(t, admin, authtoken.TypeAccess))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)

	// An extension token is refused on console routes, and the reverse.
	resp, raw = b.call(t, http.MethodGet, "/admin/users", "", bearer(b.token(t, admin, authtoken.TypeExtension))...)
	requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidToken)
	resp, raw = b.call(t, http.MethodGet, "/extension/session", "", bearer(b.token(t, admin, authtoken.TypeAccess))...)
	requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidToken)
	resp, raw = b.call(t, http.MethodGet, "/extension/session", "", bearer(b.token(t, admin, authtoken.TypeExtension))...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	me := decode[OperatorMe](t, raw)
	require.Equal(t, admin.ID, me.ID)
	require.Contains(t, me.Permissions, service.PermExtensionUse)
}

func TestDisabledUserIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{})
	admin := b.newUser(t, "admin")
	other := b.newUser(t, "admin")
	token := b.token(t, other, authtoken.TypeAccess)

	resp, _ := b.call(t, http.MethodGet, "/admin/roles", "", bearer(token)...)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, raw := b.call(t, http.MethodPost, "/admin/users/"+other.ID.String()+"/disable", "", bearer(b.token(t, admin, authtoken.TypeAccess))...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.False(t, decode[User](t, raw).Active)

	resp, raw = b.call(t, http.MethodGet, "/admin/roles", "", bearer(token)...)
	requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidToken)

	// Role changes take effect at once too: the token's roles claim is not
	// what is checked.
	viewer := b.newUser(t, "admin")
	vtoken := b.token(t, viewer, authtoken.TypeAccess)
	_, err := b.users.RevokeRole(b.ctx, viewer.ID, "admin")
	require.NoError(t, err)
	resp, raw = b.call(t, http.MethodGet, "/admin/roles", "", bearer(vtoken)...)
	requireEnvelope(t, resp, raw, http.StatusForbidden, service.CodePermissionDenied)
}

func TestOpenAPIShowsSecurity(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{})
	resp, raw := b.call(t, http.MethodGet, "/openapi.json", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc struct {
		Paths map[string]map[string]struct {
			Description string                `json:"description"`
			Security    []map[string][]string `json:"security"`
			Responses   map[string]any        `json:"responses"`
		} `json:"paths"`
		Components struct {
			SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Contains(t, doc.Components.SecuritySchemes, schemeBearer)
	require.Contains(t, doc.Components.SecuritySchemes, schemeExtension)
	require.Equal(t, "bearer", doc.Components.SecuritySchemes[schemeBearer]["scheme"])

	// Every operation with a token scheme names its permission, which is
	// exactly the one the middleware enforces.
	checked := 0
	for path, item := range doc.Paths {
		for method, op := range item {
			hop := operationAt(b.huma.OpenAPI().Paths[path], strings.ToUpper(method))
			require.NotNil(t, hop, "%s %s", method, path)
			if requires(hop, schemeBearer) || requires(hop, schemeExtension) {
				perm := permissionOf(hop)
				require.Contains(t, op.Description, "Requires permission `"+perm+"`", "%s %s", method, path)
				require.Contains(t, op.Responses, "401", "%s %s", method, path)
				require.Contains(t, op.Responses, "403", "%s %s", method, path)
				checked++
			}
		}
	}
	require.Greater(t, checked, 15, "the admin operations at least")
	require.Contains(t, doc.Paths["/admin/users"]["post"].Description, "Requires permission `user.manage` (an operator access token).")
}

func TestCheckSecurityRefusesUnenforceableOperations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		op   huma.Operation
		want string
	}{
		{"unknown scheme", huma.Operation{Security: []map[string][]string{{"Bearer": {}}}}, "unknown security scheme"},
		{"token without permission", huma.Operation{Security: operatorOnly}, "needs Metadata"},
		{"unknown permission", huma.Operation{Security: operatorOnly, Metadata: requirePermission("user.manag")}, "needs Metadata"},
		{"permission without token", huma.Operation{Metadata: requirePermission(service.PermUserManage)}, "nothing would check it"},
		{"permission on an integrator route", huma.Operation{Security: integratorOnly, Metadata: requirePermission(service.PermJobView)}, "nothing would check it"},
		{"api key and token", huma.Operation{Security: []map[string][]string{{schemeAPIKey: {}}, {schemeBearer: {}}}, Metadata: requirePermission(service.PermJobView)}, "mixes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorContains(t, checkSecurity(&tt.op), tt.want)
		})
	}
	require.NoError(t, checkSecurity(&huma.Operation{Security: operatorOnly, Metadata: requirePermission(service.PermJobView)}))
	require.NoError(t, checkSecurity(&huma.Operation{}))

	// Registration itself refuses: the API does not start with such a route.
	require.Panics(t, func() {
		_, _ = newHandler(Config{}, Deps{Logger: slog.Default()}, func(api huma.API) {
			huma.Register(api, huma.Operation{OperationID: "open-by-typo", Method: http.MethodGet, Path: "/typo", Security: operatorOnly,
				Metadata: requirePermission("user.manag")}, func(context.Context, *struct{}) (*struct{}, error) { return nil, nil })
		})
	})
}

func TestIntegratorRateLimit(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{apiKeyLimit: 2, extra: integratorEchoOp})
	key := b.newAPIKey(t, nil)
	for range 2 {
		resp, raw := b.call(t, http.MethodPost, "/test/integrator-echo", `{"note":"hi"}`, apiKeyHeader, key)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	}
	resp, raw := b.call(t, http.MethodPost, "/test/integrator-echo", `{"note":"hi"}`, apiKeyHeader, key)
	details := requireEnvelope(t, resp, raw, http.StatusTooManyRequests, service.CodeRateLimited)
	require.Equal(t, "30", resp.Header.Get("Retry-After"), "a 2-a-minute limit frees a slot every 30 s")
	require.EqualValues(t, 30, details[service.DetailRetryAfter])

	var archived int
	require.NoError(t, b.store.DB.NewRaw("SELECT count(*) FROM inbound_request WHERE request_id = ?", resp.Header.Get(RequestIDHeader)).Scan(b.ctx, &archived))
	require.Zero(t, archived, "a refused request is not archived")

	// A key's own limit overrides the default, upwards too.
	generous := 10
	own := b.newAPIKey(t, &generous)
	for range 5 {
		resp, raw := b.call(t, http.MethodPost, "/test/integrator-echo", `{}`, apiKeyHeader, own)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	}
}

// Bad keys are limited per client address before the archive write: a flood
// of made-up keys gets 429s, not unlimited lookups and inserts.
func TestBadAPIKeysAreLimitedPerAddress(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{apiKeyLimit: 100, extra: integratorEchoOp})
	for range service.BadKeysPerMinute {
		resp, raw := b.call(t, http.MethodPost, "/test/integrator-echo", `{}`, apiKeyHeader, "rd_live_made_up")
		requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidAPIKey)
	}
	resp, raw := b.call(t, http.MethodPost, "/test/integrator-echo", `{}`, apiKeyHeader, "rd_live_made_up")
	requireEnvelope(t, resp, raw, http.StatusTooManyRequests, service.CodeRateLimited)
	var archived int
	require.NoError(t, b.store.DB.NewRaw("SELECT count(*) FROM inbound_request WHERE request_id = ?", resp.Header.Get(RequestIDHeader)).Scan(b.ctx, &archived))
	require.Zero(t, archived, "a refused request is not archived")

	good := b.newAPIKey(t, nil)
	resp, raw = b.call(t, http.MethodPost, "/test/integrator-echo", `{}`, apiKeyHeader, good)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a good key from the same address is served: %s", raw)
}

func TestIntegratorRoutesServeWithoutRedis(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{redis: redistest.Unreachable(t), apiKeyLimit: 1, extra: integratorEchoOp})
	key := b.newAPIKey(t, nil)
	for range 3 {
		resp, raw := b.call(t, http.MethodPost, "/test/integrator-echo", `{}`, apiKeyHeader, key)
		require.Equal(t, http.StatusOK, resp.StatusCode, "fail open: %s", raw)
	}
	require.Contains(t, b.logs.String(), "rate limiter unavailable")

	// Login fails closed on the same outage.
	u := b.newUser(t)
	resp, raw := b.call(t, http.MethodPost, "/auth/login", `{"email":"`+u.Email+`","password":"`+testPassword+`"}`)
	requireEnvelope(t, resp, raw, http.StatusServiceUnavailable, service.CodeUnavailable)
	require.Equal(t, "5", resp.Header.Get("Retry-After"))
}

func TestUnconfiguredAuthRefuses(t *testing.T) {
	t.Parallel()
	// The plain test API has no account services: secured routes refuse.
	b := setup(t, Config{})
	resp, raw := b.do(t, http.MethodGet, "/admin/users", "", http.Header{"Authorization": {"Bearer x"}})
	requireEnvelope(t, resp, raw, http.StatusServiceUnavailable, service.CodeUnavailable)
	resp, raw = b.do(t, http.MethodPost, "/request-reviews", "{}", http.Header{apiKeyHeader: {"x"}})
	requireEnvelope(t, resp, raw, http.StatusServiceUnavailable, service.CodeUnavailable)
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "BEARER abc": "abc"} {
		got, ok := bearerToken(header)
		require.True(t, ok, header)
		require.Equal(t, want, got)
	}
	for _, header := range []string{"", "Bearer", "Bearer ", "Basic abc", "abc"} {
		_, ok := bearerToken(header)
		require.False(t, ok, header)
	}
}

// operationAt returns item's operation for method, or nil.
func operationAt(item *huma.PathItem, method string) *huma.Operation {
	if item == nil {
		return nil
	}
	return map[string]*huma.Operation{
		http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put, http.MethodPatch: item.Patch,
		http.MethodDelete: item.Delete, http.MethodHead: item.Head, http.MethodOptions: item.Options,
	}[method]
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	limited := mapError(ctx, service.RateLimited(service.CodeRateLimited, "slow down").WithRetryAfter(1500*time.Millisecond))
	secs, ok := limited.retryAfter()
	require.True(t, ok)
	require.Equal(t, "2", secs, "rounded up")

	_, ok = mapError(ctx, service.RateLimited(service.CodeRateLimited, "no hint")).retryAfter()
	require.False(t, ok)
	_, ok = mapError(ctx, service.Conflict(service.CodeConflict, "x").WithRetryAfter(time.Second)).retryAfter()
	require.False(t, ok, "only 429 and 503 carry Retry-After")

	// The path outside Huma sets it too.
	rec := httptest.NewRecorder()
	writeError(rec, httptest.NewRequest(http.MethodGet, "/", nil), service.Unavailable(service.CodeUnavailable, "later").WithRetryAfter(5*time.Second))
	require.Equal(t, "5", rec.Header().Get("Retry-After"))
}
