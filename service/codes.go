package service

// Error codes are the stable, machine-readable `meta.error_code` values of the
// error envelope. Clients branch on them, so a code is never renamed or
// reused for another meaning; add new ones here, in this one file.
const (
	// CodeValidationFailed means the request was well-formed but a parameter or
	// body field broke the operation's schema (422). details maps each
	// location, such as "body.name", to its messages.
	CodeValidationFailed = "VALIDATION_FAILED"

	// CodeMalformedJSON means the request body could not be parsed as JSON (400).
	CodeMalformedJSON = "MALFORMED_JSON"

	// CodeBadRequest means the request was rejected for a reason no more specific
	// code covers, such as a missing required body (400).
	CodeBadRequest = "BAD_REQUEST"

	// CodeNotFound means the addressed resource does not exist (404).
	CodeNotFound = "NOT_FOUND"

	// CodeRouteNotFound means no route matches the request path (404). Unlike
	// CodeNotFound it means the URL itself is wrong, not a missing record.
	CodeRouteNotFound = "ROUTE_NOT_FOUND"

	// CodeMethodNotAllowed means the route exists but not for this HTTP method
	// (405); the Allow header lists the methods it accepts.
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"

	// CodeNotAcceptable means no response format matches the Accept header (406).
	CodeNotAcceptable = "NOT_ACCEPTABLE"

	// CodeRequestTimeout means the client did not send the request body in time
	// (408).
	CodeRequestTimeout = "REQUEST_TIMEOUT"

	// CodePayloadTooLarge means the request body exceeds the server's limit (413).
	CodePayloadTooLarge = "PAYLOAD_TOO_LARGE"

	// CodeUnsupportedMediaType means the request's Content-Type is not one the
	// operation accepts (415).
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"

	// CodeUnauthorized means the request carries no valid credentials (401).
	CodeUnauthorized = "UNAUTHORIZED"

	// CodeForbidden means the caller is authenticated but may not do this (403).
	CodeForbidden = "FORBIDDEN"

	// CodeConflict means the request conflicts with the current state of a
	// resource (409). Prefer a more specific code, such as
	// DUPLICATE_LOCATION, where one exists.
	CodeConflict = "CONFLICT"

	// CodeRateLimited means the caller exceeded a rate limit (429).
	CodeRateLimited = "RATE_LIMITED"

	// CodeInternal means an unexpected server-side failure (500). The envelope
	// never carries the cause; the server log does.
	CodeInternal = "INTERNAL_ERROR"

	// CodeUnavailable means a dependency the request needs is temporarily
	// unavailable (503); retrying later may succeed.
	CodeUnavailable = "UNAVAILABLE"

	// CodeNotReady means the readiness probe found at least one dependency failing
	// (503); details list every dependency's state.
	CodeNotReady = "NOT_READY"
)

// Integrator API.
const (
	// CodeInvalidAPIKey means the request carries no API key, or one that is
	// malformed, unknown or revoked (401).
	CodeInvalidAPIKey = "INVALID_API_KEY"
)

// Scrapes.
const (
	// CodeUnknownPublisher means the publisher_key names no configured
	// publisher (422).
	CodeUnknownPublisher = "UNKNOWN_PUBLISHER"
	// CodePublisherDisabled means the publisher exists but accepts no new
	// work (409).
	CodePublisherDisabled = "PUBLISHER_DISABLED"
	// CodeInvalidURL means the business URL is not an absolute http(s) URL (422).
	CodeInvalidURL = "INVALID_URL"
	// CodeTaskNotFound means no task with this task_id belongs to the caller (404).
	CodeTaskNotFound = "TASK_NOT_FOUND"
	// CodeInvalidCursor means a page cursor was not one this API issued (422).
	CodeInvalidCursor = "INVALID_CURSOR"
)

// Accounts, sessions and permissions (operators of the admin/QA console and
// the browser extension).
const (
	// CodeInvalidCredentials means the email and password do not match a
	// live account (401). It never says which of the two was wrong.
	CodeInvalidCredentials = "INVALID_CREDENTIALS"

	// CodeInvalidToken means the request carries no bearer token, or one
	// that is malformed, expired, of the wrong type for the route, or whose
	// account is disabled or deleted (401).
	CodeInvalidToken = "INVALID_TOKEN"

	// CodeInvalidRefreshToken means the refresh token is unknown, expired or
	// revoked (401): log in again.
	CodeInvalidRefreshToken = "INVALID_REFRESH_TOKEN"

	// CodeRefreshTokenReused means a refresh token that was already rotated
	// was presented again (401). Someone holds a copy, so every token of its
	// session was revoked: log in again.
	CodeRefreshTokenReused = "REFRESH_TOKEN_REUSED"

	// CodePermissionDenied means the caller is authenticated but lacks the
	// permission the operation requires (403); details.permission names it.
	CodePermissionDenied = "PERMISSION_DENIED"

	// CodeUserDisabled means the password was right but the account is
	// disabled (403).
	CodeUserDisabled = "USER_DISABLED"

	// CodeLoginLocked means too many failed logins for this account: logins
	// are refused without checking the password until the time in the
	// Retry-After header (429).
	CodeLoginLocked = "LOGIN_LOCKED"

	// CodeDuplicateEmail means another live account has the email (409).
	CodeDuplicateEmail = "DUPLICATE_EMAIL"

	// CodeWeakPassword means the password breaks the password policy (422).
	CodeWeakPassword = "WEAK_PASSWORD"

	// CodeUnknownRole means the role named does not exist (422).
	CodeUnknownRole = "UNKNOWN_ROLE"

	// CodeLastAdmin means the change would leave no active account able to
	// manage users (409).
	CodeLastAdmin = "LAST_ADMIN"
)

// Admin configuration.
const (
	// CodeDuplicatePublisherKey means a live publisher configuration already
	// has the publisher_key (409).
	CodeDuplicatePublisherKey = "DUPLICATE_PUBLISHER_KEY"
)

// Webhooks.
const (
	// CodeWebhookEndpointNotFound means no live webhook endpoint with this ID
	// belongs to the caller (404).
	CodeWebhookEndpointNotFound = "WEBHOOK_ENDPOINT_NOT_FOUND"
	// CodeWebhookURLRefused means the endpoint URL is not an http(s) URL RD
	// may call: malformed, with credentials, or resolving to a loopback,
	// private, link-local (cloud metadata), CGNAT, multicast or other
	// non-public address (422). The message says which.
	CodeWebhookURLRefused = "WEBHOOK_URL_REFUSED"
	// CodeUnknownEventType means an event type is not one an endpoint can
	// subscribe to (422); details.event_types lists those.
	CodeUnknownEventType = "UNKNOWN_EVENT_TYPE"
	// CodeWebhookEndpointDisabled means the endpoint is disabled, so it
	// cannot take the action (a test event, a replay) until it is enabled
	// again (409).
	CodeWebhookEndpointDisabled = "WEBHOOK_ENDPOINT_DISABLED"
	// CodeWebhookDeliveryNotFound means no webhook delivery has this ID (404).
	CodeWebhookDeliveryNotFound = "WEBHOOK_DELIVERY_NOT_FOUND"
	// CodeWebhookDeliveryNotDeadLettered means only a dead-lettered delivery
	// can be replayed, and this one is not (409); details.status says what
	// it is.
	CodeWebhookDeliveryNotDeadLettered = "WEBHOOK_DELIVERY_NOT_DEAD_LETTERED"
)
