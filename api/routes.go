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
