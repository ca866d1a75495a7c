package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/reviewdata/rd/internal/authtoken"
	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/service"
)

// Security schemes. An operation names the one it needs in its Security
// field; the auth middleware enforces it, so no handler checks credentials.
// An operation with no Security is public: the permission matrix test keeps
// an explicit list of those, and fails on any other.
const (
	// schemeAPIKey is an integrator's API key, sent as the X-API-Key header
	// or, as integrators have always sent it, as "api_key" in the JSON body.
	schemeAPIKey = "apiKey"
	// schemeBearer is an operator's access token (a JWT of type "access"
	// from POST /auth/login), sent as "Authorization: Bearer …".
	schemeBearer = "bearer"
	// schemeExtension is the browser extension's token (a JWT of type
	// "extension"), sent the same way. Only operations declaring this
	// scheme accept it, and they accept no other token type.
	schemeExtension = "extension"
	// apiKeyHeader carries the API key when it is not in the body.
	apiKeyHeader = "X-API-Key"
	// metaPermission is the Operation.Metadata key naming the permission a
	// bearer or extension operation requires, e.g. "user.manage". Every
	// such operation must declare one, and only such operations may.
	metaPermission = "permission"
)

// Security values for Operation.Security.
var (
	// integratorOnly is the Security value of integrator operations.
	integratorOnly = []map[string][]string{{schemeAPIKey: {}}}
	// operatorOnly is the Security value of admin and QA console operations;
	// pair it with requirePermission.
	operatorOnly = []map[string][]string{{schemeBearer: {}}}
	// extensionOnly is the Security value of browser extension operations;
	// pair it with requirePermission.
	extensionOnly = []map[string][]string{{schemeExtension: {}}}
)

// requirePermission is the Metadata of an operation requiring permission.
func requirePermission(permission string) map[string]any {
	return map[string]any{metaPermission: permission}
}

// securitySchemes documents the schemes in the OpenAPI document.
func securitySchemes() map[string]*huma.SecurityScheme {
	return map[string]*huma.SecurityScheme{
		schemeAPIKey: {
			Type: "apiKey", In: "header", Name: apiKeyHeader,
			Description: "Integrator API key. It may also be sent as `api_key` in the JSON body.",
		},
		schemeBearer: {
			Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "Operator access token from `POST /auth/login`; valid 15 minutes, renewed with `POST /auth/refresh`.",
		},
		schemeExtension: {
			Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "Browser extension token from `POST /auth/login` with `token_type: extension`. Accepted only by extension operations.",
		},
	}
}

// documentSecurity is an OnAddOperation hook. It refuses (panics at
// start-up, like Huma's own wiring checks) an operation whose security
// cannot be enforced as written: an unknown scheme, a token scheme without a
// known permission, or a permission without a token scheme. It then states
// the requirement in the operation's description and documents the error
// answers it brings, so the OpenAPI document shows what the middleware does.
func documentSecurity(oapi *huma.OpenAPI, op *huma.Operation) {
	if err := checkSecurity(op); err != nil {
		panic(err)
	}
	var note string
	var codes []int
	switch {
	case requires(op, schemeAPIKey):
		note = "Requires an integrator API key (`X-API-Key` header or `api_key` in the body); rate-limited per key."
		codes = []int{http.StatusUnauthorized, http.StatusTooManyRequests}
	case requires(op, schemeBearer) || requires(op, schemeExtension):
		var kinds []string
		if requires(op, schemeBearer) {
			kinds = append(kinds, "an operator access token")
		}
		if requires(op, schemeExtension) {
			kinds = append(kinds, "a browser extension token")
		}
		note = fmt.Sprintf("Requires permission `%s` (%s).", permissionOf(op), strings.Join(kinds, " or "))
		codes = []int{http.StatusUnauthorized, http.StatusForbidden}
	default:
		return
	}
	if op.Description != "" {
		op.Description += "\n\n"
	}
	op.Description += note
	errSchema := oapi.Components.Schemas.Schema(reflect.TypeFor[ErrorEnvelope](), true, "ErrorEnvelope")
	for _, code := range codes {
		key := strconv.Itoa(code)
		if op.Responses[key] == nil {
			op.Responses[key] = &huma.Response{
				Description: http.StatusText(code),
				Content:     map[string]*huma.MediaType{"application/json": {Schema: errSchema}},
			}
		}
	}
}

// checkSecurity reports why op's security cannot be enforced, or nil.
func checkSecurity(op *huma.Operation) error {
	for _, alt := range op.Security {
		for scheme := range alt {
			if scheme != schemeAPIKey && scheme != schemeBearer && scheme != schemeExtension {
				return fmt.Errorf("api: operation %s declares unknown security scheme %q", op.OperationID, scheme)
			}
		}
	}
	token := requires(op, schemeBearer) || requires(op, schemeExtension)
	if token && requires(op, schemeAPIKey) {
		return fmt.Errorf("api: operation %s mixes API keys and tokens; declare one kind", op.OperationID)
	}
	raw, declared := op.Metadata[metaPermission]
	perm, _ := raw.(string)
	switch {
	case token && !service.IsPermission(perm):
		return fmt.Errorf("api: operation %s needs Metadata[%q] naming one of service.Permissions, got %v", op.OperationID, metaPermission, raw)
	case !token && declared:
		return fmt.Errorf("api: operation %s declares a permission but no bearer or extension security, so nothing would check it", op.OperationID)
	}
	return nil
}

// permissionOf returns the permission op requires, or "".
func permissionOf(op *huma.Operation) string {
	perm, _ := op.Metadata[metaPermission].(string)
	return perm
}

type (
	integratorKey struct{}
	principalKey  struct{}
	clientIPKey   struct{}
)

// integratorFrom returns the integrator the auth middleware authenticated.
// It panics on an operation without the apiKey scheme: that is a wiring bug.
func integratorFrom(ctx context.Context) service.Integrator {
	return ctx.Value(integratorKey{}).(service.Integrator)
}

// principalFrom returns the operator the auth middleware authenticated. It
// panics on an operation without a token scheme: that is a wiring bug.
func principalFrom(ctx context.Context) service.Principal {
	return ctx.Value(principalKey{}).(service.Principal)
}

// clientIP returns the address of the client, as the connection shows it.
// RD does not trust X-Forwarded-For: behind a proxy, every client is the
// proxy.
func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// authenticator is the one enforcement point of every security scheme.
type authenticator struct {
	api         huma.API
	integrators *service.Integrators
	limits      *service.APIKeyLimits
	sessions    *service.Sessions
}

// errAuthNotConfigured answers a secured operation in a process built
// without the service that checks its credentials: refusing beats serving.
var errAuthNotConfigured = service.Unavailable(service.CodeUnavailable, "authentication is not configured")

// middleware authenticates operations that declare a security scheme and
// authorises them against the permission they declare; public operations
// pass through. For the apiKey scheme it also applies the key's rate limit
// and archives the request (secrets redacted) before the handler runs.
func (a *authenticator) middleware(ctx huma.Context, next func(huma.Context)) {
	r, _ := humachi.Unwrap(ctx)
	ctx = huma.WithValue(ctx, clientIPKey{}, remoteHost(r.RemoteAddr))
	op := ctx.Operation()
	var types []authtoken.TokenType
	if requires(op, schemeBearer) {
		types = append(types, authtoken.TypeAccess)
	}
	if requires(op, schemeExtension) {
		types = append(types, authtoken.TypeExtension)
	}
	switch {
	case requires(op, schemeAPIKey):
		a.integrator(ctx, r, next)
	case len(types) > 0:
		a.operator(ctx, r, types, next)
	default:
		next(ctx)
	}
}

func (a *authenticator) integrator(ctx huma.Context, r *http.Request, next func(huma.Context)) {
	if a.integrators == nil {
		a.refuse(ctx, errAuthNotConfigured)
		return
	}
	body, err := readBody(r)
	if err != nil {
		a.refuse(ctx, err)
		return
	}
	plain := r.Header.Get(apiKeyHeader)
	if plain == "" {
		plain = apiKeyInBody(body)
	}
	who, authErr := a.integrators.Authenticate(ctx.Context(), plain)
	var archived *service.Integrator
	if authErr == nil {
		// Limited before archiving: a flood over the limit must not turn
		// into a flood of archive writes.
		if err := a.limits.Check(ctx.Context(), who); err != nil {
			a.refuse(ctx, err)
			return
		}
		archived = &who
	}
	if authErr != nil {
		// Bad keys are limited per client address, before the archive write.
		if err := a.limits.CheckBadKey(ctx.Context(), remoteHost(r.RemoteAddr)); err != nil {
			a.refuse(ctx, err)
			return
		}
	}
	endpoint := ctx.Operation().Method + " " + ctx.Operation().Path
	if err := a.integrators.Archive(ctx.Context(), endpoint, archived, body, r.RemoteAddr); err != nil {
		a.refuse(ctx, err)
		return
	}
	if authErr != nil {
		a.refuse(ctx, authErr)
		return
	}
	next(huma.WithValue(ctx, integratorKey{}, who))
}

func (a *authenticator) operator(ctx huma.Context, r *http.Request, types []authtoken.TokenType, next func(huma.Context)) {
	if a.sessions == nil {
		a.refuse(ctx, errAuthNotConfigured)
		return
	}
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="rd"`)
		a.refuse(ctx, service.Unauthorized(service.CodeInvalidToken, "this operation needs an Authorization: Bearer token"))
		return
	}
	var (
		who service.Principal
		err error
	)
	for _, typ := range types {
		if who, err = a.sessions.Authenticate(ctx.Context(), token, typ); err == nil {
			break
		}
	}
	if err != nil {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="rd", error="invalid_token"`)
		a.refuse(ctx, err)
		return
	}
	perm := permissionOf(ctx.Operation())
	if perm == "" || !who.Can(perm) {
		// perm is never empty for a documented operation (documentSecurity
		// refuses it); a hidden one without a permission is closed.
		a.refuse(ctx, service.Forbidden(service.CodePermissionDenied, "your roles do not grant the permission this operation requires").
			WithDetails(map[string]any{"permission": perm}))
		return
	}
	inner := logging.WithAttrs(ctx.Context(), slog.String("user_id", who.UserID.String()))
	next(huma.WithContext(ctx, context.WithValue(inner, principalKey{}, who)))
}

// refuse answers err through the envelope (mapError), which also sets
// Retry-After for rate limits.
func (a *authenticator) refuse(ctx huma.Context, err error) {
	status := http.StatusInternalServerError
	if se, ok := err.(*service.Error); ok {
		status = se.Status
	}
	_ = huma.WriteErr(a.api, ctx, status, "", err)
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
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
