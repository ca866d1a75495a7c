// Package service holds ReviewData's domain services and the error type they
// speak.
//
// A service owns its transaction and never returns a raw driver, Temporal or
// validation error to its caller when the client should see something
// specific: it returns a *Error carrying the HTTP status, a stable
// SCREAMING_SNAKE_CASE code (see codes.go) and a message meant for the client.
// Any other error reaching the API is answered as a generic 500 without its
// text, so wrapping internal causes in Error.Err is safe.
package service
