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

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/authtoken"
	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/internal/redistest"
	"github.com/reviewdata/rd/internal/secrets"
	"github.com/reviewdata/rd/internal/signing"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// recordingStarter stands in for the Temporal starter: the API tests check
// what the operations ask for; the delivery itself is tested end to end in
// package workflows.
type recordingStarter struct {
	mu        sync.Mutex
	started   []webhook.Delivery
	restarted []webhook.Delivery
	resumed   []webhook.Delivery
	cancelled []uuid.UUID
}

func (r *recordingStarter) Start(_ context.Context, d webhook.Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, d)
	return nil
}

func (r *recordingStarter) Resume(_ context.Context, d webhook.Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resumed = append(r.resumed, d)
	return nil
}

func (r *recordingStarter) Restart(_ context.Context, d webhook.Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restarted = append(r.restarted, d)
	return nil
}

func (r *recordingStarter) Cancel(_ context.Context, id uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelled = append(r.cancelled, id)
	return nil
}

// webhookAPIBundle is the API with the webhook and account services on a
// real database.
type webhookAPIBundle struct {
	*authBundle
	starter *recordingStarter
	svc     *service.Webhooks
}

func setupWebhookAPI(t *testing.T) *webhookAPIBundle {
	t.Helper()
	st := sharedAuthStore(t)
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	logs := &syncBuffer{}
	logger, err := logging.New(logging.Config{Level: slog.LevelDebug}, logs)
	require.NoError(t, err)
	issuer := &authtoken.Issuer{Keys: []authtoken.Key{{ID: "test", Secret: bytes.Repeat([]byte("k"), 32)}}, Issuer: "rd-test"}
	sessions, err := service.NewSessions(service.SessionsConfig{
		Store: st, Tokens: issuer, Redis: rdb, KeyPrefix: prefix, PasswordParams: cheapPasswords,
		Logger: logger, LockoutThreshold: 3, LoginPerIPPerMinute: 1000,
	})
	require.NoError(t, err)
	keys, err := secrets.ParseKeys(secrets.GenerateKey())
	require.NoError(t, err)
	integrators := &service.Integrators{Store: st, Logger: logger}
	users := &service.Users{Store: st, PasswordParams: cheapPasswords}
	apiKeys := &service.APIKeys{Store: st, Integrators: integrators}
	starter := &recordingStarter{}
	// The production setting: private addresses refused at creation.
	hooks := &service.Webhooks{Store: st, Secrets: keys, Starter: starter}
	h, err := newHandler(Config{}, Deps{
		Logger: logger, Registry: prometheus.NewRegistry(),
		Integrators: integrators, Sessions: sessions, Users: users, APIKeys: apiKeys, Webhooks: hooks,
	}, nil)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &webhookAPIBundle{
		authBundle: &authBundle{
			testBundle: &testBundle{url: srv.URL, logs: logs},
			ctx:        t.Context(), store: st, redis: rdb, issuer: issuer, users: users, apiKeys: apiKeys,
		},
		starter: starter,
		svc:     hooks,
	}
}

// publicURL is an endpoint URL that resolves without DNS to a public
// address (documentation addresses are refused, so this is a real one).
const publicURL = "https://1.1.1.1/rd-hooks"

func TestWebhookEndpointLifecycle(t *testing.T) {
	t.Parallel()
	b := setupWebhookAPI(t)
	key := b.newAPIKey(t, nil)
	other := b.newAPIKey(t, nil)

	resp, raw := b.call(t, http.MethodPost, "/webhooks/endpoints",
		`{"url":"`+publicURL+`","description":"prod","event_types":["DATA_RESULT","URL_UPDATED"]}`, apiKeyHeader, key)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)
	created := decode[struct {
		WebhookEndpoint
		Secret string `json:"secret"`
	}](t, raw)
	require.True(t, strings.HasPrefix(created.Secret, "whsec_"))
	_, err := signing.ParseSecret(created.Secret)
	require.NoError(t, err)
	require.Equal(t, []string{"URL_UPDATED", "DATA_RESULT"}, created.EventTypes)
	require.Equal(t, 4, created.MaxInFlight)
	require.Equal(t, "active", created.Status)
	path := "/webhooks/endpoints/" + created.ID.String()

	// The secret is never shown again, and it is not stored in clear.
	resp, raw = b.call(t, http.MethodGet, path, "", apiKeyHeader, key)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.NotContains(t, string(raw), "whsec_")
	resp, raw = b.call(t, http.MethodGet, "/webhooks/endpoints", "", apiKeyHeader, key)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.Len(t, decode[struct {
		Endpoints []WebhookEndpoint `json:"endpoints"`
	}](t, raw).Endpoints, 1)
	var stored string
	require.NoError(t, b.store.DB.NewRaw("SELECT secret_ciphertext FROM webhook_endpoint_secrets WHERE endpoint_id = ?", created.ID).Scan(b.ctx, &stored))
	require.NotContains(t, stored, strings.TrimPrefix(created.Secret, "whsec_"))

	// Another integrator cannot see or touch it.
	for _, call := range [][2]string{{http.MethodGet, path}, {http.MethodPatch, path}, {http.MethodDelete, path}, {http.MethodPost, path + "/test"}} {
		resp, raw = b.call(t, call[0], call[1], `{}`, apiKeyHeader, other)
		requireEnvelope(t, resp, raw, http.StatusNotFound, service.CodeWebhookEndpointNotFound)
	}

	resp, raw = b.call(t, http.MethodPatch, path, `{"description":"renamed","max_in_flight":2}`, apiKeyHeader, key)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	updated := decode[WebhookEndpoint](t, raw)
	require.Equal(t, "renamed", updated.Description)
	require.Equal(t, 2, updated.MaxInFlight)
	require.Equal(t, created.EventTypes, updated.EventTypes, "absent fields stay")

	// Rotation: a new secret, the old one signing 24 h more.
	resp, raw = b.call(t, http.MethodPost, path+"/rotate-secret", `{"api_key":"`+key+`"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	rotated := decode[struct {
		Secret  string    `json:"secret"`
		Expires time.Time `json:"previous_secret_expires_at"`
	}](t, raw)
	require.NotEqual(t, created.Secret, rotated.Secret)
	require.WithinDuration(t, time.Now().Add(24*time.Hour), rotated.Expires, time.Minute)
	resp, raw = b.call(t, http.MethodGet, path, "", apiKeyHeader, key)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotNil(t, decode[WebhookEndpoint](t, raw).SecretRotationEndsAt)

	// A test event goes to this endpoint through the normal delivery path.
	resp, raw = b.call(t, http.MethodPost, path+"/test", "", apiKeyHeader, key)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", raw)
	test := decode[struct {
		EventID   uuid.UUID `json:"event_id"`
		WebhookID string    `json:"webhook_id"`
	}](t, raw)
	require.Len(t, b.starter.started, 1)
	require.Equal(t, webhook.EventWebhookTest, b.starter.started[0].EventType)
	require.Equal(t, webhook.WebhookID(b.starter.started[0].ID), test.WebhookID)
	ev, err := store.GetWebhookEvent(b.ctx, b.store.DB, test.EventID)
	require.NoError(t, err)
	require.Equal(t, resp.Header.Get(RequestIDHeader), ev.RequestID)

	// Disabled: no test events; enabled again: held deliveries resume.
	resp, raw = b.call(t, http.MethodPatch, path, `{"enabled":false}`, apiKeyHeader, key)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	disabled := decode[WebhookEndpoint](t, raw)
	require.Equal(t, "disabled", disabled.Status)
	require.Equal(t, "manual", disabled.DisabledReason)
	resp, raw = b.call(t, http.MethodPost, path+"/test", "", apiKeyHeader, key)
	requireEnvelope(t, resp, raw, http.StatusConflict, service.CodeWebhookEndpointDisabled)
	resp, raw = b.call(t, http.MethodPatch, path, `{"enabled":true}`, apiKeyHeader, key)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.Len(t, b.starter.resumed, 1, "the pending test delivery is resumed")

	resp, raw = b.call(t, http.MethodDelete, path, "", apiKeyHeader, key)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s", raw)
	require.Len(t, b.starter.cancelled, 1, "its pending delivery is cancelled")
	resp, raw = b.call(t, http.MethodGet, path, "", apiKeyHeader, key)
	requireEnvelope(t, resp, raw, http.StatusNotFound, service.CodeWebhookEndpointNotFound)
}

func TestWebhookEndpointValidation(t *testing.T) {
	t.Parallel()
	b := setupWebhookAPI(t)
	key := b.newAPIKey(t, nil)
	create := func(body string) (*http.Response, []byte) {
		return b.call(t, http.MethodPost, "/webhooks/endpoints", body, apiKeyHeader, key)
	}

	resp, raw := create(`{"url":"` + publicURL + `","event_types":["NOPE"]}`)
	requireEnvelope(t, resp, raw, http.StatusUnprocessableEntity, service.CodeValidationFailed)
	resp, raw = create(`{"url":"` + publicURL + `","event_types":["WEBHOOK_TEST"]}`)
	requireEnvelope(t, resp, raw, http.StatusUnprocessableEntity, service.CodeValidationFailed)
	resp, raw = create(`{"url":"` + publicURL + `","event_types":[]}`)
	requireEnvelope(t, resp, raw, http.StatusUnprocessableEntity, service.CodeValidationFailed)
	resp, raw = create(`{"url":"` + publicURL + `","event_types":["DATA_RESULT"],"max_in_flight":65}`)
	requireEnvelope(t, resp, raw, http.StatusUnprocessableEntity, service.CodeValidationFailed)

	resp, raw = b.call(t, http.MethodPost, "/webhooks/endpoints", `{"url":"`+publicURL+`","event_types":["DATA_RESULT"]}`)
	requireEnvelope(t, resp, raw, http.StatusUnauthorized, service.CodeInvalidAPIKey)
}

// The SSRF guard at creation: every non-public class is refused with a
// clear reason, including a DNS name that resolves to loopback.
func TestWebhookEndpointRefusesPrivateURLs(t *testing.T) {
	t.Parallel()
	b := setupWebhookAPI(t)
	key := b.newAPIKey(t, nil)
	cases := map[string]string{
		"http://127.0.0.1:8080/hook":              "loopback",
		"http://localhost/hook":                   "loopback",
		"http://[::1]/hook":                       "loopback",
		"http://10.1.2.3/hook":                    "private address (RFC 1918)",
		"http://172.16.0.1/hook":                  "private address (RFC 1918)",
		"http://192.168.1.10/hook":                "private address (RFC 1918)",
		"http://[fd00::1]/hook":                   "unique-local",
		"http://169.254.169.254/latest/meta-data": "link-local",
		"http://[fe80::1]/hook":                   "link-local",
		"http://100.64.0.1/hook":                  "carrier-grade NAT",
		"http://224.0.0.1/hook":                   "multicast",
		"http://0.0.0.0/hook":                     "this network",
		"http://[::]/hook":                        "unspecified",
		"http://[::ffff:127.0.0.1]/hook":          "loopback",
		"ftp://1.1.1.1/hook":                      "scheme must be http or https",
		"https://user:pw@1.1.1.1/hook":            "user info",
	}
	for url, reason := range cases {
		resp, raw := b.call(t, http.MethodPost, "/webhooks/endpoints", `{"url":"`+url+`","event_types":["DATA_RESULT"]}`, apiKeyHeader, key)
		if resp.StatusCode == http.StatusUnprocessableEntity && strings.Contains(string(raw), service.CodeValidationFailed) {
			continue // Huma's format:"uri" check got there first (userinfo, ftp): refused all the same
		}
		requireEnvelope(t, resp, raw, http.StatusUnprocessableEntity, service.CodeWebhookURLRefused)
		require.Contains(t, string(raw), reason, url)
	}
	// Updating to such a URL is refused too.
	resp, raw := b.call(t, http.MethodPost, "/webhooks/endpoints", `{"url":"`+publicURL+`","event_types":["DATA_RESULT"]}`, apiKeyHeader, key)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)
	id := decode[WebhookEndpoint](t, raw).ID
	resp, raw = b.call(t, http.MethodPatch, "/webhooks/endpoints/"+id.String(), `{"url":"http://169.254.169.254/"}`, apiKeyHeader, key)
	requireEnvelope(t, resp, raw, http.StatusUnprocessableEntity, service.CodeWebhookURLRefused)
}

func TestWebhookOperatorRoutes(t *testing.T) {
	t.Parallel()
	b := setupWebhookAPI(t)
	admin := b.token(t, b.newUser(t, "admin"), authtoken.TypeAccess)
	viewer := b.token(t, b.newUser(t, "viewer"), authtoken.TypeAccess)
	operator := b.token(t, b.newUser(t, "qa_operator"), authtoken.TypeAccess)

	who := service.Integrator{Name: "it-" + strings.ToLower(rand.Text()[:6])}
	ep, _, err := b.svc.CreateEndpoint(b.ctx, who, service.EndpointSpec{URL: publicURL, EventTypes: []string{"DATA_RESULT"}})
	require.NoError(t, err)
	test, err := b.svc.SendTestEvent(b.ctx, who, ep.ID, "req-op")
	require.NoError(t, err)

	resp, raw := b.call(t, http.MethodGet, "/admin/webhooks/deliveries?endpoint_id="+ep.ID.String(), "", bearer(viewer)...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	var list struct {
		Deliveries []WebhookDelivery `json:"deliveries"`
	}
	require.NoError(t, json.Unmarshal(raw, &list))
	require.Len(t, list.Deliveries, 1)
	d := list.Deliveries[0]
	require.Equal(t, test.DeliveryID, d.ID)
	require.Equal(t, webhook.WebhookID(d.ID), d.WebhookID)
	require.Equal(t, "WEBHOOK_TEST", d.EventType)
	require.Equal(t, "pending", d.Status)
	require.Empty(t, d.Attempts)

	resp, raw = b.call(t, http.MethodGet, "/admin/webhooks/deliveries?status=pending&limit=1&since="+
		time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)+"&endpoint_id="+ep.ID.String(), "", bearer(viewer)...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	page := decode[struct {
		Deliveries []WebhookDelivery `json:"deliveries"`
		NextBefore *uuid.UUID        `json:"next_before"`
	}](t, raw)
	require.Len(t, page.Deliveries, 1)
	require.Equal(t, d.ID, *page.NextBefore, "a full page has a cursor")
	resp, raw = b.call(t, http.MethodGet, "/admin/webhooks/deliveries?before="+d.ID.String()+"&endpoint_id="+ep.ID.String(), "", bearer(viewer)...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.Contains(t, string(raw), `"deliveries":[]`)
	resp, raw = b.call(t, http.MethodGet, "/admin/webhooks/deliveries?since="+time.Now().Add(time.Minute).UTC().Format(time.RFC3339)+
		"&endpoint_id="+ep.ID.String(), "", bearer(viewer)...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.Contains(t, string(raw), `"deliveries":[]`)

	resp, raw = b.call(t, http.MethodGet, "/admin/webhooks/deliveries", "", bearer(operator)...)
	requireEnvelope(t, resp, raw, http.StatusForbidden, service.CodePermissionDenied)
	resp, raw = b.call(t, http.MethodPost, "/admin/webhooks/deliveries/"+d.ID.String()+"/replay", "", bearer(viewer)...)
	requireEnvelope(t, resp, raw, http.StatusForbidden, service.CodePermissionDenied)

	resp, raw = b.call(t, http.MethodPost, "/admin/webhooks/deliveries/"+d.ID.String()+"/replay", "", bearer(admin)...)
	details := requireEnvelope(t, resp, raw, http.StatusConflict, service.CodeWebhookDeliveryNotDeadLettered)
	require.Equal(t, "pending", details["status"])
	resp, raw = b.call(t, http.MethodPost, "/admin/webhooks/deliveries/"+uuid.NewString()+"/replay", "", bearer(admin)...)
	requireEnvelope(t, resp, raw, http.StatusNotFound, service.CodeWebhookDeliveryNotFound)

	// Dead-letter it (as the workflow would) and replay: a new generation,
	// restarted under the same delivery (the same webhook-id).
	dead, err := store.GetWebhookDelivery(b.ctx, b.store.DB, d.ID)
	require.NoError(t, err)
	now := time.Now()
	dead.Status, dead.CompletedAt = store.WebhookDeliveryDeadLettered, &now
	require.NoError(t, store.UpdateWebhookDelivery(b.ctx, b.store.DB, dead, now, "status", "completed_at"))
	resp, raw = b.call(t, http.MethodPost, "/admin/webhooks/deliveries/"+d.ID.String()+"/replay", "", bearer(admin)...)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", raw)
	replayed := decode[WebhookDelivery](t, raw)
	require.Equal(t, "pending", replayed.Status)
	require.Equal(t, 2, replayed.Generation)
	require.Equal(t, d.WebhookID, replayed.WebhookID)
	require.Len(t, b.starter.restarted, 1)
	require.Equal(t, 2, b.starter.restarted[0].Generation)

	// Recover: the dead letters since a time.
	require.NoError(t, store.UpdateWebhookDelivery(b.ctx, b.store.DB, dead, now, "status", "completed_at"))
	resp, raw = b.call(t, http.MethodPost, "/admin/webhooks/endpoints/"+ep.ID.String()+"/recover",
		`{"since":"`+time.Now().Add(time.Hour).Format(time.RFC3339)+`"}`, bearer(admin)...)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", raw)
	require.Contains(t, string(raw), `"replayed":0`)
	resp, raw = b.call(t, http.MethodPost, "/admin/webhooks/endpoints/"+ep.ID.String()+"/recover",
		`{"since":"`+time.Now().Add(-time.Hour).Format(time.RFC3339)+`"}`, bearer(admin)...)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", raw)
	require.Contains(t, string(raw), `"replayed":1`)
}

func TestOpenAPIDocumentsWebhookEvents(t *testing.T) {
	t.Parallel()
	b := setupWebhookAPI(t)
	resp, raw := b.call(t, http.MethodGet, "/openapi.json", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc struct {
		OpenAPI  string `json:"openapi"`
		Webhooks map[string]struct {
			Post struct {
				Parameters []struct {
					Name string `json:"name"`
					In   string `json:"in"`
				} `json:"parameters"`
				RequestBody struct {
					Content map[string]struct {
						Schema struct {
							Properties map[string]map[string]any `json:"properties"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			} `json:"post"`
		} `json:"webhooks"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3.1"))
	for _, typ := range append(webhook.SubscribableEvents, webhook.EventWebhookTest) {
		hook, ok := doc.Webhooks[string(typ)]
		require.True(t, ok, "%s is documented", typ)
		var names []string
		for _, p := range hook.Post.Parameters {
			require.Equal(t, "header", p.In)
			names = append(names, strings.ToLower(p.Name))
		}
		require.Subset(t, names, []string{"webhook-id", "webhook-timestamp", "webhook-signature", "x-rd-signature", "x-rd-delivery-id", "x-rd-event"})
		props := hook.Post.RequestBody.Content["application/json"].Schema.Properties
		require.Equal(t, []any{string(typ)}, props["type"]["enum"])
		ref, _ := props["data"]["$ref"].(string)
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		require.NotEmpty(t, doc.Components.Schemas[name].Properties, "%s: data schema %q", typ, ref)
	}
	require.Contains(t, doc.Components.Schemas["DataResult"].Properties, "batches")
	require.Contains(t, doc.Components.Schemas["DataResult"].Properties, "task_id", "embedded job fields are flattened")
}
