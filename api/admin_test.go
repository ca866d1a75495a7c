package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/authtoken"
	"github.com/reviewdata/rd/service"
)

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{})
	admin := bearer(b.token(t, b.newUser(t, "admin"), authtoken.TypeAccess))
	email := uniqueEmail()

	resp, raw := b.call(t, http.MethodPost, "/admin/users",
		`{"email":"`+strings.ToUpper(email)+`","name":"Ada","password":"`+testPassword+`","roles":["qa_operator"]}`, admin...)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)
	created := decode[User](t, raw)
	require.Equal(t, email, created.Email)
	require.Equal(t, []string{"qa_operator"}, created.Roles)
	require.True(t, created.Active)
	requireNoSecrets(t, raw)

	id := "/admin/users/" + created.ID.String()
	resp, raw = b.call(t, http.MethodPost, "/admin/users", `{"email":"`+email+`","password":"`+testPassword+`"}`, admin...)
	requireEnvelope(t, resp, raw, http.StatusConflict, service.CodeDuplicateEmail)
	resp, raw = b.call(t, http.MethodPost, "/admin/users", `{"email":"`+uniqueEmail()+`","password":"`+testPassword+`","roles":["emperor"]}`, admin...)
	requireEnvelope(t, resp, raw, http.StatusUnprocessableEntity, service.CodeUnknownRole)

	resp, raw = b.call(t, http.MethodGet, "/admin/users", "", admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(raw), created.ID.String())
	requireNoSecrets(t, raw)

	resp, raw = b.call(t, http.MethodPatch, id, `{"name":"Ada L."}`, admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.Equal(t, "Ada L.", decode[User](t, raw).Name)
	require.Equal(t, email, decode[User](t, raw).Email, "absent fields stay")

	resp, raw = b.call(t, http.MethodPost, id+"/roles", `{"role":"qa_lead"}`, admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.Equal(t, []string{"qa_lead", "qa_operator"}, decode[User](t, raw).Roles)
	resp, raw = b.call(t, http.MethodDelete, id+"/roles/qa_operator", "", admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.Equal(t, []string{"qa_lead"}, decode[User](t, raw).Roles)

	resp, raw = b.call(t, http.MethodPost, id+"/reset-password", `{"password":"a whole new passphrase"}`, admin...)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s", raw)
	resp, raw = b.call(t, http.MethodPost, "/auth/login", loginBody(email, "a whole new passphrase"))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)

	resp, raw = b.call(t, http.MethodPost, id+"/disable", "", admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	disabled := decode[User](t, raw)
	require.False(t, disabled.Active)
	require.NotNil(t, disabled.DisabledAt)
	resp, raw = b.call(t, http.MethodPost, id+"/enable", "", admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.True(t, decode[User](t, raw).Active)

	resp, raw = b.call(t, http.MethodGet, "/admin/roles", "", admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	roles := decode[struct{ Roles []Role }](t, raw).Roles
	require.NotEmpty(t, roles)

	resp, raw = b.call(t, http.MethodGet, "/admin/users/00000000-0000-0000-0000-000000000000", "", admin...)
	requireEnvelope(t, resp, raw, http.StatusNotFound, service.CodeNotFound)
	resp, raw = b.call(t, http.MethodGet, "/admin/users/not-a-uuid", "", admin...)
	requireEnvelope(t, resp, raw, http.StatusUnprocessableEntity, service.CodeValidationFailed)
}

func TestAdminAPIKeys(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{extra: integratorEchoOp})
	admin := bearer(b.token(t, b.newUser(t, "admin"), authtoken.TypeAccess))

	resp, raw := b.call(t, http.MethodPost, "/admin/api-keys",
		`{"name":"RM test","integrator":"rm-admin-test","environment":"test","rate_limit_per_minute":120}`, admin...)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)
	created := decode[struct {
		APIKey APIKey `json:"api_key"`
		Key    string `json:"key"`
	}](t, raw)
	require.True(t, strings.HasPrefix(created.Key, "rd_test_"+created.APIKey.Prefix+"_"), "the full key, once")
	require.Equal(t, 1000, created.APIKey.ScrapePriority)
	require.Equal(t, 120, *created.APIKey.RateLimitPerMinute)

	resp, raw = b.call(t, http.MethodPost, "/test/integrator-echo", `{}`, apiKeyHeader, created.Key)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the new key works: %s", raw)

	resp, raw = b.call(t, http.MethodGet, "/admin/api-keys?integrator=rm-admin-test", "", admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(raw), created.APIKey.Prefix)
	require.NotContains(t, string(raw), created.Key, "listing shows prefixes only")
	requireNoSecrets(t, raw)

	resp, raw = b.call(t, http.MethodGet, "/admin/api-keys?prefix="+created.APIKey.Prefix, "", admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	byPrefix := decode[struct {
		APIKeys []APIKey `json:"api_keys"`
	}](t, raw).APIKeys
	require.Len(t, byPrefix, 1)
	require.Equal(t, created.APIKey.ID, byPrefix[0].ID)

	keyPath := "/admin/api-keys/" + created.APIKey.ID.String()
	resp, raw = b.call(t, http.MethodPatch, keyPath, `{"rate_limit_per_minute":null}`, admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.Nil(t, decode[APIKey](t, raw).RateLimitPerMinute)
	resp, raw = b.call(t, http.MethodPatch, keyPath, `{"rate_limit_per_minute":0}`, admin...)
	requireEnvelope(t, resp, raw, http.StatusUnprocessableEntity, service.CodeValidationFailed)

	resp, raw = b.call(t, http.MethodPost, keyPath+"/revoke", "", admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.NotNil(t, decode[APIKey](t, raw).RevokedAt)
	resp, raw = b.call(t, http.MethodPost, "/test/integrator-echo", `{}`, apiKeyHeader, created.Key)
	requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidAPIKey)

	resp, raw = b.call(t, http.MethodGet, "/admin/api-keys?integrator=rm-admin-test", "", admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotContains(t, string(raw), created.APIKey.Prefix, "revoked keys are hidden by default")
	resp, raw = b.call(t, http.MethodGet, "/admin/api-keys?integrator=rm-admin-test&include_revoked=true", "", admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(raw), created.APIKey.Prefix)
}

func TestAdminPublishers(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, authOptions{})
	admin := bearer(b.token(t, b.newUser(t, "admin"), authtoken.TypeAccess))
	viewer := bearer(b.token(t, b.newUser(t, "viewer"), authtoken.TypeAccess))
	key := "pub-" + strings.ToLower(uniqueEmail()[3:11])
	base := "/admin/publisher-configurations"

	resp, raw := b.call(t, http.MethodPost, base,
		`{"publisher_key":"`+key+`","display_name":"Pub","scraper_engine":"SAU","auth_type":"COOKIES","task_queue":"scraping-internal"}`, admin...)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)
	created := decode[PublisherConfiguration](t, raw)
	require.Equal(t, "DISABLED", created.PostingMode)
	require.True(t, created.Active)

	resp, raw = b.call(t, http.MethodPost, base,
		`{"publisher_key":"`+key+`","display_name":"Pub","scraper_engine":"SAU","auth_type":"COOKIES","task_queue":"q"}`, admin...)
	requireEnvelope(t, resp, raw, http.StatusConflict, service.CodeDuplicatePublisherKey)

	resp, raw = b.call(t, http.MethodPut, base+"/"+key,
		`{"display_name":"Pub 2","scraper_engine":"LDE","posting_mode":"MANUAL_QA","auth_type":"OAUTH","task_queue":"scraping-lde","active":false}`, admin...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	updated := decode[PublisherConfiguration](t, raw)
	require.Equal(t, created.ID, updated.ID)
	require.Equal(t, "LDE", updated.ScraperEngine)
	require.False(t, updated.Active)

	// viewer reads, cannot write.
	resp, raw = b.call(t, http.MethodGet, base+"/"+key, "", viewer...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	resp, raw = b.call(t, http.MethodDelete, base+"/"+key, "", viewer...)
	requireEnvelope(t, resp, raw, http.StatusForbidden, service.CodePermissionDenied)

	resp, _ = b.call(t, http.MethodDelete, base+"/"+key, "", admin...)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, raw = b.call(t, http.MethodGet, base+"/"+key, "", admin...)
	requireEnvelope(t, resp, raw, http.StatusNotFound, service.CodeNotFound)
	resp, raw = b.call(t, http.MethodPut, base+"/"+key,
		`{"display_name":"Pub","scraper_engine":"SAU","auth_type":"COOKIES","task_queue":"q"}`, admin...)
	requireEnvelope(t, resp, raw, http.StatusNotFound, service.CodeNotFound)
}

// requireNoSecrets fails if raw carries anything hash-like.
func requireNoSecrets(t *testing.T, raw []byte) {
	t.Helper()
	for _, s := range []string{"argon2", "password", "hash", "secret"} {
		require.NotContains(t, strings.ToLower(string(raw)), s)
	}
}
