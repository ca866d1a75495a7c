package logging

import (
	"context"
	"log/slog"
	"slices"
)

// RequestIDKey is the attribute key of the request ID on log lines.
const RequestIDKey = "request_id"

type attrsKey struct{}

// WithAttrs returns a copy of ctx carrying attrs in addition to those already
// on it; an attribute replaces an earlier one with the same key, so a value
// set twice is logged once. Records logged with the returned context through
// a logger from New (or a ContextHandler) include them.
func WithAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	if len(attrs) == 0 {
		return ctx
	}
	prev := attrsFrom(ctx)
	// Build a fresh slice: contexts are shared across goroutines, so the
	// parent's slice must never be appended to in place.
	merged := make([]slog.Attr, 0, len(prev)+len(attrs))
	for _, a := range prev {
		if !slices.ContainsFunc(attrs, func(b slog.Attr) bool { return b.Key == a.Key }) {
			merged = append(merged, a)
		}
	}
	merged = append(merged, attrs...)
	return context.WithValue(ctx, attrsKey{}, merged)
}

// WithRequestID returns a copy of ctx whose log lines carry request_id=id and
// from which RequestID returns id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return WithAttrs(ctx, slog.String(RequestIDKey, id))
}

// RequestID returns the request ID put on ctx by WithRequestID, or "" if
// there is none.
func RequestID(ctx context.Context) string {
	for _, a := range attrsFrom(ctx) {
		if a.Key == RequestIDKey {
			return a.Value.String()
		}
	}
	return ""
}

func attrsFrom(ctx context.Context) []slog.Attr {
	attrs, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	return attrs
}
