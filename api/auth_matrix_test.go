package api

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/authtoken"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// publicRoutes are the only routes anyone may call without credentials.
// Adding to this list is a security decision: say why next to the entry.
var publicRoutes = []string{
	"GET /healthz",       // probes
	"GET /readyz",        // probes
	"GET /metrics",       // Prometheus scrape target, served on the internal network
	"POST /auth/login",   // the credentials are in the body
	"POST /auth/refresh", // the refresh token is the credential
	"POST /auth/logout",  // the refresh token is the credential
	"GET /openapi.json",  // the API's own description
	"GET /openapi.yaml",
	"GET /openapi-3.0.json",
	"GET /openapi-3.0.yaml",
	"GET /docs",
}

// matrixRoute is one registered route and what its operation declares.
type matrixRoute struct {
	method, pattern string
	op              *huma.Operation // nil for a route that is not a Huma operation
}

func (r matrixRoute) String() string { return r.method + " " + r.pattern }

// registeredRoutes walks the router, so a route added by anyone, in any
// file, is in the matrix without being listed anywhere.
func registeredRoutes(t *testing.T, b *authBundle) []matrixRoute {
	t.Helper()
	var routes []matrixRoute
	err := chi.Walk(b.router, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, matrixRoute{method: method, pattern: pattern, op: operationAt(b.huma.OpenAPI().Paths[pattern], method)})
		return nil
	})
	require.NoError(t, err)
	slices.SortFunc(routes, func(a, b matrixRoute) int { return strings.Compare(a.String(), b.String()) })
	return routes
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// concrete fills a pattern's parameters with a UUID, which every ID-shaped
// parameter accepts and no record has.
func concrete(pattern string) string {
	return pathParam.ReplaceAllString(pattern, uuid.NewString())
}

// TestPermissionMatrix checks every registered route: without credentials it
// answers 401 unless it is on publicRoutes; a bearer or extension operation
// answers 403 to a token whose roles grant everything but its permission,
// and neither 401 nor 403 to one whose roles grant only that permission; an
// apiKey operation answers neither 401 nor 403 to a valid key.
func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{})
	routes := registeredRoutes(t, b)
	key := b.newAPIKey(t, nil)

	seen := map[string]bool{}
	counts := map[string]int{}
	users := map[string][2]*store.User{} // permission -> {all but it, only it}
	for _, r := range routes {
		seen[r.String()] = true
		path := concrete(r.pattern)
		public := slices.Contains(publicRoutes, r.String())
		body := ""
		if r.method == http.MethodPost || r.method == http.MethodPut || r.method == http.MethodPatch {
			body = "{}"
		}
		t.Run(r.String(), func(t *testing.T) {
			resp, raw := b.call(t, r.method, path, body)
			if public {
				require.NotEqual(t, http.StatusUnauthorized, resp.StatusCode, "public route refused: %s", raw)
				return
			}
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode,
				"%s answers %d without credentials; secure it, or add it to publicRoutes with a reason: %s", r, resp.StatusCode, raw)
			if r.op == nil {
				return
			}
			switch {
			case requires(r.op, schemeAPIKey):
				counts[schemeAPIKey]++
				resp, raw := b.call(t, r.method, path, body, apiKeyHeader, key)
				require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, resp.StatusCode, "valid API key refused: %s", raw)
			case requires(r.op, schemeBearer) || requires(r.op, schemeExtension):
				typ := authtoken.TypeAccess
				if !requires(r.op, schemeBearer) {
					typ = authtoken.TypeExtension
				}
				counts[string(typ)]++
				perm := permissionOf(r.op)
				pair, ok := users[perm]
				if !ok {
					pair = [2]*store.User{b.userWithPermissions(t, allBut(perm)...), b.userWithPermissions(t, perm)}
					users[perm] = pair
				}
				resp, raw := b.call(t, r.method, path, body, bearer(b.token(t, pair[0], typ))...)
				details := requireEnvelope(t, resp, raw, http.StatusForbidden, service.CodePermissionDenied)
				require.Equal(t, perm, details["permission"])

				resp, raw = b.call(t, r.method, path, body, bearer(b.token(t, pair[1], typ))...)
				require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, resp.StatusCode,
					"%s refused a token with %s: %s", r, perm, raw)

				// The other token type never gets through.
				other := authtoken.TypeExtension
				if typ == authtoken.TypeExtension {
					other = authtoken.TypeAccess
				}
				if !requires(r.op, schemeBearer) || !requires(r.op, schemeExtension) {
					resp, raw = b.call(t, r.method, path, body, bearer(b.token(t, pair[1], other))...)
					requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidToken)
				}
			default:
				t.Fatalf("%s refused anonymous callers without declaring a scheme", r)
			}
		})
	}
	for _, p := range publicRoutes {
		require.True(t, seen[p], "publicRoutes lists %s, which no longer exists; remove it", p)
	}
	// The matrix must have exercised every kind, or it proves nothing.
	require.GreaterOrEqual(t, counts[string(authtoken.TypeAccess)], 19, "bearer operations checked")
	require.GreaterOrEqual(t, counts[string(authtoken.TypeExtension)], 1, "extension operations checked")
	require.GreaterOrEqual(t, counts[schemeAPIKey], 1, "apiKey operations checked")
}

func allBut(perm string) []string {
	return slices.DeleteFunc(slices.Clone(service.Permissions), func(p string) bool { return p == perm })
}

// userWithPermissions creates a role granting exactly perms and a user
// holding only that role.
func (b *authBundle) userWithPermissions(t *testing.T, perms ...string) *store.User {
	t.Helper()
	role := &store.Role{Name: fmt.Sprintf("mx_%s", strings.ToLower(rand.Text()[:10])), Description: "permission matrix"}
	require.NoError(t, store.InsertRole(b.ctx, b.store.DB, role, perms))
	return b.newUser(t, role.Name)
}
