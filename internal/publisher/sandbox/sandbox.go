// Package sandbox is a fake review publisher for the dev stack, demos and
// tests. It serves deterministic businesses whose HTML pages carry schema.org
// JSON-LD (a LocalBusiness with an aggregateRating and a review array), so the
// jsonld driver scrapes it like any real publisher, and it fails on demand so
// every FailureReason can be produced with nothing but a URL.
//
// # Pages
//
//	GET  /                                     index with example links
//	GET  /biz/{id}?page=N                      one page of reviews, newest first
//	GET  /biz/{id}/reviews/{review_id}         one review
//	POST /biz/{id}/reviews/{review_id}/reply   store an owner reply: {"text": "…"} → 201
//	GET  /biz/{id}/reviews/{review_id}/reply   the stored reply, or 404
//
// Pagination is by query parameter on the business page (page=N, 1-based;
// per_page, default 20, at most 100); each page has <link rel="next"> and
// <a rel="next"> to the following one, keeping the other query parameters. A
// page past the last is 404.
//
// # Businesses
//
// A business exists for every id. Its review count is the id's trailing
// number (acme-120 has 120 reviews), else a number from 5 to 60 derived from
// the id; the reviews=N parameter overrides both (at most 10,000). Everything
// about a review (id, author, rating, title, text, dates, some owner replies,
// a few markup variants) is derived from the id and the review's position, so
// the same id always yields the same reviews. Dates count back from
// 2025-06-01T12:00:00Z, strictly newest first. Replies posted through the API
// replace the generated ones and are kept in memory for the Handler's life.
//
// # Failure modes
//
// An id prefix (or mode=NAME) selects a failure mode; the rest of the id still
// names the business, so ratelimit-acme-40 is a 40-review business:
//
//	slow-       wait 2s before answering (delay=DURATION sets any delay, for any id)
//	ratelimit-  429 with Retry-After: 1 for the first request(s) to the business, then OK
//	flaky-      500 for the first request(s) to each page, then OK
//	error-      500 always
//	blocked-    403 always
//	missing-    404 always
//	malformed-  200 with truncated, unparseable JSON-LD
//
// times=K sets how many requests ratelimit- and flaky- fail before they
// succeed (default 1), and retry_after=VALUE the Retry-After header (default
// 1). Failure modes apply to the reply endpoints too. Counters live in the
// Handler, so a test that needs a fresh one makes a new Handler.
package sandbox

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultAddr is where the dev stack serves the sandbox publisher.
const DefaultAddr = "127.0.0.1:8090"

// Reply is an owner reply posted to the sandbox.
type Reply struct {
	// ReviewID is the review answered.
	ReviewID string `json:"review_id"`
	// Text is the reply body.
	Text string `json:"text"`
	// PublishedAt is when the sandbox received the reply, in UTC.
	PublishedAt time.Time `json:"published_at"`
}

type replyKey struct{ business, review string }

// Handler is the sandbox publisher. It is safe for concurrent use; all its
// state (failure counters, posted replies) is in memory.
type Handler struct {
	mux *http.ServeMux
	now func() time.Time

	mu      sync.Mutex
	hits    map[string]int
	replies map[replyKey]Reply
}

// NewHandler returns a sandbox publisher with no replies and fresh failure
// counters.
func NewHandler() *Handler {
	h := &Handler{
		mux:     http.NewServeMux(),
		now:     time.Now,
		hits:    map[string]int{},
		replies: map[replyKey]Reply{},
	}
	h.mux.HandleFunc("GET /{$}", h.serveIndex)
	h.mux.HandleFunc("GET /biz/{id}", h.serveBusiness)
	h.mux.HandleFunc("GET /biz/{id}/reviews/{review_id}", h.serveReview)
	h.mux.HandleFunc("POST /biz/{id}/reviews/{review_id}/reply", h.postReply)
	h.mux.HandleFunc("GET /biz/{id}/reviews/{review_id}/reply", h.getReply)
	return h
}

// ServeHTTP serves the sandbox publisher's routes (see the package comment).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// Reply returns the reply posted to a review of a business, if any.
func (h *Handler) Reply(businessID, reviewID string) (Reply, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rep, ok := h.replies[replyKey{businessID, reviewID}]
	return rep, ok
}

// NewServer starts a sandbox publisher on addr (DefaultAddr when empty; ":0"
// or "127.0.0.1:0" picks a free port) and returns the running server and the
// address it listens on. The server's Handler is a *Handler, for reading
// posted replies. Stop it with Shutdown or Close. It returns an error if addr
// cannot be listened on.
func NewServer(addr string) (*http.Server, string, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: listen on %s: %w; choose a free address, or \"127.0.0.1:0\" for any port", addr, err)
	}
	srv := &http.Server{Handler: NewHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		// Serve returns ErrServerClosed after Shutdown or Close; any other
		// error means the listener died, and clients will see that directly.
		_ = srv.Serve(ln)
	}()
	return srv, ln.Addr().String(), nil
}

func (h *Handler) serveBusiness(w http.ResponseWriter, r *http.Request) {
	b, p, err := parseRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Keyed by the parsed page, so "/biz/x" and "/biz/x?page=1" are one page.
	if h.fail(w, r, b, p, "page:"+strconv.Itoa(p.page)) {
		return
	}
	last := max(1, (b.count+p.perPage-1)/p.perPage)
	if p.page > last {
		http.Error(w, fmt.Sprintf("page %d is past the last page (%d)", p.page, last), http.StatusNotFound)
		return
	}
	from := (p.page - 1) * p.perPage
	reviews := h.reviews(b, from, min(from+p.perPage, b.count))
	h.render(w, r, b, reviews, pageLinks(r, b, p.page, last))
}

func (h *Handler) serveReview(w http.ResponseWriter, r *http.Request) {
	b, _, ok := h.admit(w, r, "review:"+r.PathValue("review_id"))
	if !ok {
		return
	}
	i, found := b.indexOf(r.PathValue("review_id"))
	if !found {
		http.Error(w, "no such review", http.StatusNotFound)
		return
	}
	h.render(w, r, b, h.reviews(b, i, i+1), links{})
}

func (h *Handler) postReply(w http.ResponseWriter, r *http.Request) {
	reviewID := r.PathValue("review_id")
	b, _, ok := h.admit(w, r, "reply:"+reviewID)
	if !ok {
		return
	}
	if _, found := b.indexOf(reviewID); !found {
		http.Error(w, "no such review", http.StatusNotFound)
		return
	}
	var body struct {
		Text string `json:"text"`
	}
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body)
	if err != nil || body.Text == "" {
		http.Error(w, `send {"text": "…"} with a non-empty text`, http.StatusBadRequest)
		return
	}
	rep := Reply{ReviewID: reviewID, Text: body.Text, PublishedAt: h.now().UTC().Truncate(time.Second)}
	h.mu.Lock()
	h.replies[replyKey{b.id, reviewID}] = rep
	h.mu.Unlock()
	writeJSON(w, http.StatusCreated, rep)
}

func (h *Handler) getReply(w http.ResponseWriter, r *http.Request) {
	b, _, ok := h.admit(w, r, "reply:"+r.PathValue("review_id"))
	if !ok {
		return
	}
	rep, found := h.Reply(b.id, r.PathValue("review_id"))
	if !found {
		http.Error(w, "no reply", http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// admit parses the request and plays its failure mode. It reports false when
// it has already answered (bad parameters, or an injected failure).
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, key string) (business, params, bool) {
	b, p, err := parseRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return b, p, false
	}
	return b, p, !h.fail(w, r, b, p, key)
}

// hit counts one request under key and returns the count so far.
func (h *Handler) hit(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hits[key]++
	return h.hits[key]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A failed write means the client left; there is no one to tell.
	_ = json.NewEncoder(w).Encode(v)
}
