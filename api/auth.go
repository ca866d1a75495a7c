package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/reviewdata/rd/service"
)

// Security schemes. An operation names the one it needs in its Security
// field; the auth middleware enforces it, so no handler checks credentials.
const (
	// schemeAPIKey is an integrator's API key, sent as the X-API-Key header
	// or, as integrators have always sent it, as "api_key" in the JSON body.
	schemeAPIKey = "apiKey"
	// apiKeyHeader carries the API key when it is not in the body.
	apiKeyHeader = "X-API-Key"
)

// integratorOnly is the Security value of integrator operations.
var integratorOnly = []map[string][]string{{schemeAPIKey: {}}}

// securitySchemes documents the schemes in the OpenAPI document.
func securitySchemes() map[string]*huma.SecurityScheme {
	return map[string]*huma.SecurityScheme{
		schemeAPIKey: {
			Type: "apiKey", In: "header", Name: apiKeyHeader,
			Description: "Integrator API key. It may also be sent as `api_key` in the JSON body.",
		},
	}
}

type integratorKey struct{}

// integratorFrom returns the integrator the auth middleware authenticated.
// It panics on an operation without the apiKey scheme: that is a wiring bug.
func integratorFrom(ctx context.Context) service.Integrator {
	return ctx.Value(integratorKey{}).(service.Integrator)
}

// authMiddleware authenticates operations that declare a security scheme.
// For the apiKey scheme it also archives the request (secrets redacted)
// before the handler runs, whether or not the key is good.
func authMiddleware(api huma.API, integrators *service.Integrators) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if !requires(ctx.Operation(), schemeAPIKey) {
			next(ctx)
			return
		}
		r, _ := humachi.Unwrap(ctx)
		body, err := readBody(r)
		if err != nil {
			_ = huma.WriteErr(api, ctx, http.StatusRequestEntityTooLarge, "", err)
			return
		}
		plain := r.Header.Get(apiKeyHeader)
		if plain == "" {
			plain = apiKeyInBody(body)
		}
		who, authErr := integrators.Authenticate(ctx.Context(), plain)
		var archived *service.Integrator
		if authErr == nil {
			archived = &who
		}
		endpoint := ctx.Operation().Method + " " + ctx.Operation().Path
		if err := integrators.Archive(ctx.Context(), endpoint, archived, body, r.RemoteAddr); err != nil {
			_ = huma.WriteErr(api, ctx, http.StatusInternalServerError, "", err)
			return
		}
		if authErr != nil {
			_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "", authErr)
			return
		}
		next(huma.WithValue(ctx, integratorKey{}, who))
	}
}

func requires(op *huma.Operation, scheme string) bool {
	return slices.ContainsFunc(op.Security, func(req map[string][]string) bool {
		_, ok := req[scheme]
		return ok
	})
}

// readBody reads the whole (size-limited) body and puts it back for Huma.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// apiKeyInBody finds "api_key" in a JSON object body; anything else yields "".
func apiKeyInBody(body []byte) string {
	var fields struct {
		APIKey string `json:"api_key"`
	}
	_ = json.Unmarshal(body, &fields)
	return fields.APIKey
}
