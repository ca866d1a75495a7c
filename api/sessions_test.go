package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/service"
)

func loginBody(email, password string) string {
	return `{"email":"` + email + `","password":"` + password + `"}`
}

func TestLoginRefreshLogout(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{})
	u := b.newUser(t, "qa_lead")

	resp, raw := b.call(t, http.MethodPost, "/auth/login", loginBody(u.Email, testPassword))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	first := decode[SessionBody](t, raw)
	require.Equal(t, "Bearer", first.TokenType)
	require.Equal(t, "access", first.AccessTokenType)
	require.InDelta(t, 900, first.ExpiresIn, 2)
	require.Equal(t, u.ID, first.User.ID)
	require.Equal(t, []string{"qa_lead"}, first.User.Roles)
	require.Contains(t, first.User.Permissions, service.PermQATaskAssign)

	// The access token works on a route the role allows.
	resp, raw = b.call(t, http.MethodGet, "/admin/publisher-configurations", "", bearer(first.AccessToken)...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)

	resp, raw = b.call(t, http.MethodPost, "/auth/refresh", `{"refresh_token":"`+first.RefreshToken+`"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	second := decode[SessionBody](t, raw)
	require.NotEqual(t, first.RefreshToken, second.RefreshToken)

	// Reuse of the rotated token revokes the family, newest token included.
	resp, raw = b.call(t, http.MethodPost, "/auth/refresh", `{"refresh_token":"`+first.RefreshToken+`"}`)
	requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeRefreshTokenReused)
	resp, raw = b.call(t, http.MethodPost, "/auth/refresh", `{"refresh_token":"`+second.RefreshToken+`"}`)
	requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidRefreshToken)

	third := decode[SessionBody](t, must(b.call(t, http.MethodPost, "/auth/login", loginBody(u.Email, testPassword))))
	resp, _ = b.call(t, http.MethodPost, "/auth/logout", `{"refresh_token":"`+third.RefreshToken+`"}`)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, raw = b.call(t, http.MethodPost, "/auth/refresh", `{"refresh_token":"`+third.RefreshToken+`"}`)
	requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidRefreshToken)
}

func TestExtensionLoginOverHTTP(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{})
	u := b.newUser(t, "qa_operator")
	resp, raw := b.call(t, http.MethodPost, "/auth/login", `{"email":"`+u.Email+`","password":"`+testPassword+`","token_type":"extension"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	sess := decode[SessionBody](t, raw)
	require.Equal(t, "extension", sess.AccessTokenType)

	resp, raw = b.call(t, http.MethodGet, "/extension/session", "", bearer(sess.AccessToken)...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	resp, raw = b.call(t, http.MethodGet, "/admin/publisher-configurations", "", bearer(sess.AccessToken)...)
	requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidToken)
}

func TestLoginLockoutOverHTTP(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{}) // lock-out after 3 failures
	u := b.newUser(t)
	for range 2 {
		resp, raw := b.call(t, http.MethodPost, "/auth/login", loginBody(u.Email, "wrong password!!"))
		requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidCredentials)
		require.Empty(t, resp.Header.Get("Retry-After"))
	}
	resp, raw := b.call(t, http.MethodPost, "/auth/login", loginBody(u.Email, "wrong password!!"))
	requireEnvelope(t, resp, raw, http.StatusTooManyRequests, service.CodeLoginLocked)
	require.Equal(t, "900", resp.Header.Get("Retry-After"), "the default 15-minute lock")

	resp, raw = b.call(t, http.MethodPost, "/auth/login", loginBody(u.Email, testPassword))
	requireEnvelope(t, resp, raw, http.StatusTooManyRequests, service.CodeLoginLocked)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
}

func TestLoginPerIPLimitOverHTTP(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{sessions: func(c *service.SessionsConfig) { c.LoginPerIPPerMinute = 2; c.LockoutThreshold = 100 }})
	for range 2 {
		resp, raw := b.call(t, http.MethodPost, "/auth/login", loginBody(uniqueEmail(), "whatever password"))
		requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidCredentials)
	}
	resp, raw := b.call(t, http.MethodPost, "/auth/login", loginBody(uniqueEmail(), "whatever password"))
	requireEnvelope(t, resp, raw, http.StatusTooManyRequests, service.CodeRateLimited)
	require.Equal(t, "30", resp.Header.Get("Retry-After"))
}

func must(resp *http.Response, raw []byte) []byte {
	if resp.StatusCode >= 300 {
		panic(string(raw))
	}
	return raw
}
