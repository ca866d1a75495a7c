package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/reviewdata/rd/internal/logging"
)

// RequestIDHeader carries the request ID, in both directions.
const RequestIDHeader = "X-Request-ID"

// maxRequestIDLen bounds an accepted incoming ID, which lands on every log
// line of its request.
const maxRequestIDLen = 64

// requestID accepts the caller's X-Request-ID when it is well-formed (see
// validRequestID), else generates a UUIDv7, and sets it on the response
// header and, through logging.WithRequestID, on every log line and envelope
// of the request.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(logging.WithRequestID(r.Context(), id)))
	})
}

// validRequestID reports whether id is 1 to 64 characters of [A-Za-z0-9._-],
// which admits UUIDs and common trace tokens but nothing that could forge a
// log line or swell it.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// newRequestID returns a UUIDv7, whose time prefix sorts IDs by arrival.
func newRequestID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// Only a failing random source gets here; a v4 still identifies.
		return uuid.NewString()
	}
	return id.String()
}

// limitBody caps request bodies at maxBytes, whether or not they declare a
// Content-Length. Reading past the cap fails with *http.MaxBytesError, which
// mapError answers 413 PAYLOAD_TOO_LARGE.
func limitBody(maxBytes int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
			next.ServeHTTP(w, r)
		})
	}
}

// recoverer turns a panic into a 500 INTERNAL_ERROR envelope. The panic value
// and stack go to the log at error level, never to the client.
func recoverer(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v) // net/http's deliberate abort: let the server drop the connection
				}
				logger.ErrorContext(r.Context(), "panic serving request",
					slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				if rec, ok := w.(*responseRecorder); ok && rec.status != 0 {
					return // the response has begun; an envelope would corrupt it
				}
				writeError(w, r, fmt.Errorf("panic: %v", v))
			}()
			next.ServeHTTP(w, r)
		})
	}
}

type errorNoteKey struct{}

// errorNote carries the error a request was answered with from the place it
// is mapped to the access log, so the one line per request names its cause.
type errorNote struct{ err error }

// recordError notes err for the access log of ctx's request, if any.
func recordError(ctx context.Context, err error) {
	if note, ok := ctx.Value(errorNoteKey{}).(*errorNote); ok {
		note.err = err
	}
}

// accessLog writes one line per request: method, path, route, status,
// duration and bytes, plus the error it was answered with. 5xx log at error,
// 4xx at warn; successful probes and scrapes at debug, since they arrive
// every few seconds and would drown everything else.
func accessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			note := &errorNote{}
			r = r.WithContext(context.WithValue(r.Context(), errorNoteKey{}, note))
			rec := &responseRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)

			route := routePattern(r)
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", route),
				slog.Int("status", rec.Status()),
				slog.Float64("duration_ms", milliseconds(time.Since(start))),
				slog.Int64("bytes", rec.bytes),
			}
			if note.err != nil {
				attrs = append(attrs, slog.String("error", note.err.Error()))
			}
			logger.LogAttrs(r.Context(), accessLevel(route, rec.Status()), "http request", attrs...)
		})
	}
}

func accessLevel(route string, status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelWarn
	case route == "/healthz" || route == "/readyz" || route == "/metrics":
		return slog.LevelDebug
	default:
		return slog.LevelInfo
	}
}

// routePattern returns the chi route that served r, such as "/things/{id}",
// or "unmatched". Metrics and logs use it rather than the raw path, which
// would give every ID its own time series.
func routePattern(r *http.Request) string {
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		if p := rctx.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

func milliseconds(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// responseRecorder remembers the status and body size of a response.
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// WriteHeader records the first final status.
func (r *responseRecorder) WriteHeader(status int) {
	if r.status == 0 && status >= 200 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

// Write counts the body bytes written.
func (r *responseRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController (and Huma's SSE) reach the
// connection's Flush and deadlines.
func (r *responseRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Status returns the response status; a handler that wrote nothing has
// implicitly answered 200.
func (r *responseRecorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
