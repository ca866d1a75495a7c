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
