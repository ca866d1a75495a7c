package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"

	"github.com/reviewdata/rd/service"
)

// resources holds the handlers of each resource file.
type resources struct {
	health  *healthProbes
	metrics *metrics
	scrapes *scrapes
	// Accounts (issue 4): sessions and the admin endpoints.
	sessions        *sessions
	adminUsers      *adminUsers
	adminAPIKeys    *adminAPIKeys
	adminPublishers *adminPublishers
	// Webhooks (issue 3): integrators' endpoints, operators' deliveries.
	webhooks *webhooks
}

// registerRoutes is the whole HTTP surface in one place: every operation,
// plus the router-level answers for unknown routes and methods. Huma itself
// serves /openapi.json (and .yaml, -3.0.json) and /docs.
func registerRoutes(router chi.Router, api huma.API, res *resources) {
	router.NotFound(routeNotFound)
	router.MethodNotAllowed(methodNotAllowed(router))
	// Not a Huma operation: a scrape target, not part of the public API.
	router.Method(http.MethodGet, "/metrics", res.metrics.handler())

	huma.Register(api, huma.Operation{
		OperationID: "check-liveness",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "Liveness probe",
		Description: "Answers 200 while the process serves HTTP. It checks no dependency.",
		Tags:        []string{"health"},
	}, res.health.liveness)
	huma.Register(api, huma.Operation{
		OperationID: "check-readiness",
		Method:      http.MethodGet,
		Path:        "/readyz",
		Summary:     "Readiness probe",
		Description: "Checks every dependency concurrently. Answers 200 when all are ok, " +
			"else 503 NOT_READY whose details.checks lists each dependency's state.",
		Tags:   []string{"health"},
		Errors: []int{http.StatusServiceUnavailable},
	}, res.health.readiness)

	registerScrapes(api, res.scrapes)
	registerSessions(api, res.sessions)
	registerAdminUsers(api, res.adminUsers)
	registerAdminAPIKeys(api, res.adminAPIKeys)
	registerAdminPublishers(api, res.adminPublishers)
	registerWebhooks(api, res.webhooks)
}

// registerSessions is the operators' login surface. Login, refresh and
// logout are public: their credentials are in the body.
func registerSessions(api huma.API, h *sessions) {
	huma.Register(api, huma.Operation{
		OperationID: "login",
		Method:      http.MethodPost,
		Path:        "/auth/login",
		Summary:     "Log in",
		Description: "Trades an email and password for a 15-minute access token and a single-use refresh token. " +
			"Attempts are limited per client address, and an account is locked out after repeated failures " +
			"(429 with Retry-After). Answers 503 when the limits cannot be checked.",
		Tags:   []string{"auth"},
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}, h.login)
	huma.Register(api, huma.Operation{
		OperationID: "refresh-session",
		Method:      http.MethodPost,
		Path:        "/auth/refresh",
		Summary:     "Refresh a session",
		Description: "Trades a refresh token for a new access token and a new refresh token. A refresh token works once: " +
			"presenting it again revokes every token of its session (REFRESH_TOKEN_REUSED).",
		Tags:   []string{"auth"},
		Errors: []int{http.StatusUnauthorized},
	}, h.refresh)
	huma.Register(api, huma.Operation{
		OperationID:   "logout",
		Method:        http.MethodPost,
		Path:          "/auth/logout",
		Summary:       "Log out",
		Description:   "Revokes the refresh token's session. Unknown or already revoked tokens also answer 204.",
		Tags:          []string{"auth"},
		DefaultStatus: http.StatusNoContent,
	}, h.logout)
	huma.Register(api, huma.Operation{
		OperationID: "get-extension-session",
		Method:      http.MethodGet,
		Path:        "/extension/session",
		Summary:     "Who the extension is signed in as",
		Tags:        []string{"extension"},
		Security:    extensionOnly,
		Metadata:    requirePermission(service.PermExtensionUse),
	}, h.extensionSession)
}

// registerAdminUsers is account and role administration.
func registerAdminUsers(api huma.API, h *adminUsers) {
	op := func(id, method, path, summary string) huma.Operation {
		return huma.Operation{
			OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"admin: users"},
			Security: operatorOnly, Metadata: requirePermission(service.PermUserManage),
		}
	}
	create := op("create-user", http.MethodPost, "/admin/users", "Create an account")
	create.DefaultStatus = http.StatusCreated
	create.Errors = []int{http.StatusConflict, http.StatusUnprocessableEntity}
	huma.Register(api, create, h.create)
	huma.Register(api, op("list-users", http.MethodGet, "/admin/users", "List accounts"), h.list)
	huma.Register(api, op("get-user", http.MethodGet, "/admin/users/{id}", "Get an account"), h.get)
	huma.Register(api, op("update-user", http.MethodPatch, "/admin/users/{id}", "Change an account's email or name"), h.update)
	disable := op("disable-user", http.MethodPost, "/admin/users/{id}/disable", "Disable an account")
	disable.Description = "The account's tokens stop working at once and its sessions are revoked. " +
		"Refused (409 LAST_ADMIN) for the last active account able to manage users."
	huma.Register(api, disable, h.disable)
	huma.Register(api, op("enable-user", http.MethodPost, "/admin/users/{id}/enable", "Enable an account"), h.enable)
	reset := op("reset-user-password", http.MethodPost, "/admin/users/{id}/reset-password", "Set an account's password")
	reset.DefaultStatus = http.StatusNoContent
	reset.Description = "Every session of the account is revoked and must log in with the new password."
	huma.Register(api, reset, h.resetPassword)
	huma.Register(api, op("grant-user-role", http.MethodPost, "/admin/users/{id}/roles", "Grant a role"), h.grantRole)
	huma.Register(api, op("revoke-user-role", http.MethodDelete, "/admin/users/{id}/roles/{role}", "Revoke a role"), h.revokeRole)
	huma.Register(api, op("list-roles", http.MethodGet, "/admin/roles", "List roles and their permissions"), h.roles)
}

// registerAdminAPIKeys is integrator API key administration.
func registerAdminAPIKeys(api huma.API, h *adminAPIKeys) {
	op := func(id, method, path, summary string) huma.Operation {
		return huma.Operation{
			OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"admin: api keys"},
			Security: operatorOnly, Metadata: requirePermission(service.PermAPIKeyManage),
		}
	}
	create := op("create-api-key", http.MethodPost, "/admin/api-keys", "Issue an API key")
	create.DefaultStatus = http.StatusCreated
	create.Description = "The answer carries the full key, once: RD stores only its prefix and hash."
	huma.Register(api, create, h.create)
	huma.Register(api, op("list-api-keys", http.MethodGet, "/admin/api-keys", "List API keys (prefixes only)"), h.list)
	huma.Register(api, op("update-api-key", http.MethodPatch, "/admin/api-keys/{id}", "Set an API key's rate limit"), h.update)
	huma.Register(api, op("revoke-api-key", http.MethodPost, "/admin/api-keys/{id}/revoke", "Revoke an API key"), h.revoke)
}

// registerAdminPublishers is publisher configuration administration.
func registerAdminPublishers(api huma.API, h *adminPublishers) {
	op := func(id, method, path, summary, perm string) huma.Operation {
		return huma.Operation{
			OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"admin: publishers"},
			Security: operatorOnly, Metadata: requirePermission(perm),
		}
	}
	const base = "/admin/publisher-configurations"
	huma.Register(api, op("list-publisher-configurations", http.MethodGet, base, "List publisher configurations", service.PermPublisherView), h.list)
	huma.Register(api, op("get-publisher-configuration", http.MethodGet, base+"/{publisher_key}", "Get a publisher configuration", service.PermPublisherView), h.get)
	create := op("create-publisher-configuration", http.MethodPost, base, "Configure a publisher", service.PermPublisherManage)
	create.DefaultStatus = http.StatusCreated
	huma.Register(api, create, h.create)
	huma.Register(api, op("update-publisher-configuration", http.MethodPut, base+"/{publisher_key}", "Replace a publisher configuration", service.PermPublisherManage), h.update)
	del := op("delete-publisher-configuration", http.MethodDelete, base+"/{publisher_key}", "Delete a publisher configuration", service.PermPublisherManage)
	del.DefaultStatus = http.StatusNoContent
	del.Description = "Soft delete: the row is kept for history and the publisher_key is free to configure again."
	huma.Register(api, del, h.delete)
}

// registerScrapes is the integrator's scrape surface.
func registerScrapes(api huma.API, h *scrapes) {
	huma.Register(api, huma.Operation{
		OperationID:   "request-reviews",
		Method:        http.MethodPost,
		Path:          "/request-reviews",
		Summary:       "Scrape a business's reviews",
		Description:   "Buffers a scrape for admission and answers 202 with a task_id at once. A repeat with the same foreign_key within 10 minutes returns the first task and creates nothing. Results arrive by the DATA_RESULT webhook or /retrieve-task.",
		Tags:          []string{"scrapes"},
		DefaultStatus: http.StatusAccepted,
		Security:      integratorOnly,
		Errors:        []int{http.StatusUnauthorized, http.StatusConflict, http.StatusUnprocessableEntity},
	}, h.requestReviews)
	huma.Register(api, huma.Operation{
		OperationID: "retrieve-task",
		Method:      http.MethodPost,
		Path:        "/retrieve-task",
		Summary:     "Read a scrape task and its review batches",
		Description: "Status, failure reason, timings, why a waiting task waits, and a page of review batches (JSON lines in S3).",
		Tags:        []string{"scrapes"},
		Security:    integratorOnly,
		Errors:      []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusUnprocessableEntity},
	}, h.retrieveTask)
	huma.Register(api, huma.Operation{
		OperationID: "get-publisher-info",
		Method:      http.MethodPost,
		Path:        "/get-publisher-info",
		Summary:     "Read a publisher's public configuration",
		Tags:        []string{"publishers"},
		Security:    integratorOnly,
		Errors:      []int{http.StatusUnauthorized, http.StatusNotFound},
	}, h.publisherInfo)
}

func routeNotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, service.NotFound(service.CodeRouteNotFound, "no route matches "+r.URL.Path))
}

// methodNotAllowed answers 405 with the Allow header RFC 9110 requires,
// which chi only sets for its own default handler.
func methodNotAllowed(routes chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(routes, r.URL.Path); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
		}
		msg := fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)
		writeError(w, r, &service.Error{Status: http.StatusMethodNotAllowed, Code: service.CodeMethodNotAllowed, Message: msg})
	}
}

func allowedMethods(routes chi.Routes, path string) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if routes.Match(chi.NewRouteContext(), m, path) {
			allow = append(allow, m)
		}
	}
	return allow
}

// registerWebhooks is the webhook surface: integrators manage their
// endpoints with their API key; operators inspect deliveries and replay dead
// letters. It also documents every event RD sends in the OpenAPI webhooks
// section.
func registerWebhooks(api huma.API, h *webhooks) {
	integrator := func(id, method, path, summary string) huma.Operation {
		return huma.Operation{
			OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"webhooks"},
			Security: integratorOnly, Errors: webhookAPIErrors,
		}
	}
	create := integrator("create-webhook-endpoint", http.MethodPost, "/webhooks/endpoints", "Create a webhook endpoint")
	create.DefaultStatus = http.StatusCreated
	create.Description = "Answers with the endpoint's signing secret, once. The URL must be a public http(s) URL: " +
		"one resolving to a loopback, private, link-local, CGNAT, multicast or unspecified address is refused (422 WEBHOOK_URL_REFUSED)."
	huma.Register(api, create, h.createEndpoint)
	huma.Register(api, integrator("list-webhook-endpoints", http.MethodGet, "/webhooks/endpoints", "List your webhook endpoints"), h.listEndpoints)
	huma.Register(api, integrator("get-webhook-endpoint", http.MethodGet, "/webhooks/endpoints/{id}", "Get a webhook endpoint"), h.getEndpoint)
	update := integrator("update-webhook-endpoint", http.MethodPatch, "/webhooks/endpoints/{id}", "Change a webhook endpoint")
	update.Description = "Absent fields stay. enabled=false holds new deliveries; enabled=true sends what was held, in order."
	huma.Register(api, update, h.updateEndpoint)
	remove := integrator("delete-webhook-endpoint", http.MethodDelete, "/webhooks/endpoints/{id}", "Delete a webhook endpoint")
	remove.DefaultStatus = http.StatusNoContent
	remove.Description = "It receives nothing more; its pending deliveries are cancelled."
	huma.Register(api, remove, h.deleteEndpoint)
	rotate := integrator("rotate-webhook-secret", http.MethodPost, "/webhooks/endpoints/{id}/rotate-secret", "Rotate an endpoint's signing secret")
	rotate.Description = "Answers with the new secret, once. The previous secret keeps signing for 24 hours: meanwhile every " +
		"delivery carries two v1 signatures, so you can switch without rejecting any."
	huma.Register(api, rotate, h.rotateSecret)
	test := integrator("send-webhook-test", http.MethodPost, "/webhooks/endpoints/{id}/test", "Send a test event")
	test.DefaultStatus = http.StatusAccepted
	test.Description = "Sends a WEBHOOK_TEST event to this endpoint only, signed and retried like any delivery."
	huma.Register(api, test, h.sendTest)

	operator := func(id, method, path, summary, perm string) huma.Operation {
		return huma.Operation{
			OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"admin: webhooks"},
			Security: operatorOnly, Metadata: requirePermission(perm),
			Errors: []int{http.StatusNotFound, http.StatusConflict},
		}
	}
	huma.Register(api, operator("list-webhook-deliveries", http.MethodGet, "/admin/webhooks/deliveries",
		"List webhook deliveries with their attempts", service.PermWebhookView), h.listDeliveries)
	huma.Register(api, operator("get-webhook-delivery", http.MethodGet, "/admin/webhooks/deliveries/{id}",
		"Get a webhook delivery with its attempts", service.PermWebhookView), h.getDelivery)
	replay := operator("replay-webhook-delivery", http.MethodPost, "/admin/webhooks/deliveries/{id}/replay",
		"Replay a dead-lettered delivery", service.PermWebhookManage)
	replay.DefaultStatus = http.StatusAccepted
	replay.Description = "Runs the 8-attempt schedule again: the same webhook-id, re-signed with the endpoint's current secrets, " +
		"a fresh delivery_id per attempt. Only dead letters (409 WEBHOOK_DELIVERY_NOT_DEAD_LETTERED otherwise)."
	huma.Register(api, replay, h.replayDelivery)
	recoverOp := operator("recover-webhook-endpoint", http.MethodPost, "/admin/webhooks/endpoints/{id}/recover",
		"Replay an endpoint's dead letters since a time", service.PermWebhookManage)
	recoverOp.DefaultStatus = http.StatusAccepted
	recoverOp.Description = "Replays every dead-lettered delivery to the endpoint created at or after since, oldest first. Enable the endpoint first."
	huma.Register(api, recoverOp, h.recoverEndpoint)

	documentWebhookEvents(api)
}
