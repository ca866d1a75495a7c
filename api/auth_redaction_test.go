package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/reviewdata/rd/internal/authtoken"
)

// TestSecretsNeverLeak drives every auth path with known secrets, then
// searches the captured log, every archived inbound_request payload, and
// every response for them. The only responses allowed to carry a secret are
// the ones that hand it out (a login's tokens, a new API key), and then only
// their own.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{extra: integratorEchoOp})
	admin := b.newUser(t, "admin")
	operator := b.newUser(t, "qa_operator")

	var (
		secrets   = map[string]string{} // secret -> what it is
		responses []string              // bodies and headers that must not carry any secret
		requestID []string              // every request, to find its archive row
	)
	remember := func(what, secret string) string {
		require.NotEmpty(t, secret, what)
		secrets[secret] = what
		return secret
	}
	send := func(method, path, body string, headers ...string) (*http.Response, []byte) {
		resp, raw := b.call(t, method, path, body, headers...)
		requestID = append(requestID, resp.Header.Get(RequestIDHeader))
		return resp, raw
	}
	// check records an answer that must be secret-free.
	check := func(resp *http.Response, raw []byte) {
		h, _ := json.Marshal(resp.Header)
		responses = append(responses, string(raw), string(h))
	}
	// handedOut records an answer that hands out exactly the secrets in own.
	handedOut := func(resp *http.Response, raw []byte, own ...string) {
		text := string(raw)
		for _, s := range own {
			text = strings.ReplaceAll(text, s, "")
		}
		check(resp, []byte(text))
	}

	remember("admin password", testPassword)
	wrongPassword := remember("wrong password", "Wr0ng-but-secret-pass")
	newUserPassword := remember("new user's password", "new-user-secret-passphrase")
	weakPassword := remember("weak password", "Sh0rt!")
	resetPassword := remember("reset password", "reset-secret-passphrase")
	forgedJWT := remember("forged JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNlY3JldA")
	unknownRefresh := remember("unknown refresh token", "rdr_unknownRefreshTokenSecretValue00000000000")
	bogusKey := remember("unknown API key", "rd_live_aaaaaaaaaaaaaaaa_"+strings.Repeat("b", 52))
	garbageKey := remember("malformed API key", "not-a-key-but-still-secret")

	// Login: success, wrong password, extension, validation failure.
	resp, raw := send(http.MethodPost, "/auth/login", loginBody(admin.Email, testPassword))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	login := decode[SessionBody](t, raw)
	remember("access token", login.AccessToken)
	remember("refresh token", login.RefreshToken)
	handedOut(resp, raw, login.AccessToken, login.RefreshToken)

	resp, raw = send(http.MethodPost, "/auth/login", loginBody(admin.Email, wrongPassword))
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	check(resp, raw)
	resp, raw = send(http.MethodPost, "/auth/login", `{"email":"`+operator.Email+`","password":"`+testPassword+`","token_type":"extension"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	ext := decode[SessionBody](t, raw)
	remember("extension token", ext.AccessToken)
	remember("extension refresh token", ext.RefreshToken)
	handedOut(resp, raw, ext.AccessToken, ext.RefreshToken)
	resp, raw = send(http.MethodPost, "/auth/login", `{"email":"`+admin.Email+`","password":"`+wrongPassword+`","token_type":"console"}`)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	check(resp, raw)
	resp, raw = send(http.MethodPost, "/auth/login", `{"email":"`+admin.Email+`","password":"`+wrongPassword+`"`) // malformed JSON
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	check(resp, raw)

	// Refresh: rotate, reuse, unknown; logout.
	resp, raw = send(http.MethodPost, "/auth/refresh", `{"refresh_token":"`+login.RefreshToken+`"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	rotated := decode[SessionBody](t, raw)
	remember("rotated access token", rotated.AccessToken)
	remember("rotated refresh token", rotated.RefreshToken)
	handedOut(resp, raw, rotated.AccessToken, rotated.RefreshToken)
	for _, token := range []string{login.RefreshToken, unknownRefresh} {
		resp, raw = send(http.MethodPost, "/auth/refresh", `{"refresh_token":"`+token+`"}`)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		check(resp, raw)
	}
	resp, raw = send(http.MethodPost, "/auth/logout", `{"refresh_token":"`+ext.RefreshToken+`"}`)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	check(resp, raw)

	// Bearer and extension tokens, good and bad, right and wrong route.
	adminToken := b.token(t, admin, authtoken.TypeAccess)
	remember("admin access token", adminToken)
	for _, tc := range []struct{ path, token string }{
		{"/admin/users", adminToken}, {"/admin/users", forgedJWT}, {"/admin/users", ext.AccessToken},
		{"/extension/session", ext.AccessToken}, {"/extension/session", adminToken},
	} {
		resp, raw = send(http.MethodGet, tc.path, "", bearer(tc.token)...)
		check(resp, raw)
	}

	// Admin writes carrying passwords, good and refused.
	resp, raw = send(http.MethodPost, "/admin/users", `{"email":"`+uniqueEmail()+`","password":"`+newUserPassword+`"}`, bearer(adminToken)...)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)
	check(resp, raw)
	resp, raw = send(http.MethodPost, "/admin/users", `{"email":"`+uniqueEmail()+`","password":"`+weakPassword+`"}`, bearer(adminToken)...)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	check(resp, raw)
	resp, raw = send(http.MethodPost, "/admin/users", `{"email":"`+admin.Email+`","password":"`+newUserPassword+`"}`, bearer(adminToken)...)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	check(resp, raw)
	resp, raw = send(http.MethodPost, "/admin/users/"+operator.ID.String()+"/reset-password", `{"password":"`+resetPassword+`"}`, bearer(adminToken)...)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s", raw)
	check(resp, raw)

	// API keys: issued once, then used in the header and in the body, and
	// refused ones.
	resp, raw = send(http.MethodPost, "/admin/api-keys", `{"name":"leak test","integrator":"leak-test","environment":"production"}`, bearer(adminToken)...)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)
	issued := decode[struct {
		Key string `json:"key"`
	}](t, raw).Key
	remember("issued API key", issued)
	handedOut(resp, raw, issued)
	resp, raw = send(http.MethodGet, "/admin/api-keys?integrator=leak-test", "", bearer(adminToken)...)
	check(resp, raw)
	for _, tc := range []struct{ body, header string }{
		{`{"note":"header"}`, issued},
		{`{"api_key":"` + issued + `","note":"body"}`, ""},
		{`{"api_key":"` + bogusKey + `"}`, ""},
		{`{"note":"bad header"}`, garbageKey},
		{`{"api_key":"` + issued + `","note":`, ""}, // malformed JSON
	} {
		var headers []string
		if tc.header != "" {
			headers = []string{apiKeyHeader, tc.header}
		}
		resp, raw = send(http.MethodPost, "/test/integrator-echo", tc.body, headers...)
		check(resp, raw)
	}

	// Nothing may have leaked anywhere.
	logs := b.logs.String()
	require.Contains(t, logs, `"route":"/auth/login"`, "the log captured the requests")
	var archived []string
	require.NoError(t, b.store.DB.NewRaw("SELECT payload::text FROM inbound_request WHERE request_id IN (?)",
		bun.In(requestID)).Scan(b.ctx, &archived))
	require.Len(t, archived, 5, "every integrator request is archived")
	require.Contains(t, strings.Join(archived, "\n"), `"api_key": "[REDACTED]"`, "body keys are archived redacted")

	for secret, what := range secrets {
		require.NotContains(t, logs, secret, "the log carries the %s", what)
		for _, payload := range archived {
			require.NotContains(t, payload, secret, "inbound_request carries the %s", what)
		}
		for _, r := range responses {
			require.NotContains(t, r, secret, "a response carries the %s", what)
		}
	}
	for _, r := range responses {
		require.NotContains(t, r, "$argon2id$", "a response carries a password hash")
	}
}
