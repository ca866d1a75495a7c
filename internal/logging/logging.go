// Package logging builds ReviewData's slog loggers and carries per-request
// attributes (request_id, and later task_id or user_id) on the context, so
// that every line logged with that context names them without each call site
// repeating them.
//
// Log with the context-aware methods (logger.InfoContext(ctx, …)); attributes
// put on ctx with WithAttrs or WithRequestID then appear on the line.
package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Config selects the log format and level.
type Config struct {
	// Format is "json" or "text". Defaults to "json".
	Format string
	// Level is the minimum level logged. Defaults to info (the zero value).
	Level slog.Level
}

// New returns a logger writing to w in cfg's format. Every record logged with
// a context also carries the attributes put on that context by WithAttrs.
//
// It returns an error if cfg.Format is neither "json", "text" nor empty, or if
// w is nil.
func New(cfg Config, w io.Writer) (*slog.Logger, error) {
	if w == nil {
		return nil, errors.New("logging: nil writer; pass os.Stderr or another io.Writer")
	}
	opts := &slog.HandlerOptions{Level: cfg.Level}
	var h slog.Handler
	switch cfg.Format {
	case "", "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("logging: unknown Format %q; use \"json\" or \"text\"", cfg.Format)
	}
	return slog.New(NewContextHandler(h)), nil
}

// ContextHandler is a slog.Handler that adds the attributes carried on a
// record's context (see WithAttrs) before passing it to the wrapped handler.
//
// Context attributes are added to the record, so after WithGroup they land
// inside the open group like any other record attribute.
type ContextHandler struct {
	next slog.Handler
}

// NewContextHandler wraps next so that records gain their context's
// attributes.
func NewContextHandler(next slog.Handler) *ContextHandler {
	return &ContextHandler{next: next}
}

// Enabled reports whether the wrapped handler handles records at level.
func (h *ContextHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds ctx's attributes to r and passes it on.
func (h *ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs := attrsFrom(ctx); len(attrs) > 0 {
		// Records are shared by value with other handlers; Clone keeps our
		// additions from leaking into their backing array.
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a ContextHandler over the wrapped handler's WithAttrs.
func (h *ContextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &ContextHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns a ContextHandler over the wrapped handler's WithGroup.
func (h *ContextHandler) WithGroup(name string) slog.Handler {
	return &ContextHandler{next: h.next.WithGroup(name)}
}
