package sandbox

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what a request may ask for, so a typo cannot make the sandbox
// generate millions of reviews or hold a connection for an hour.
const (
	defaultPerPage = 20
	maxPerPage     = 100
	maxReviews     = 10_000
	maxDelay       = 30 * time.Second
	maxTimes       = 1_000
	slowDelay      = 2 * time.Second
)

// The failure modes, each selected by an id prefix ("slow-") or mode=NAME.
const (
	modeSlow      = "slow"
	modeRateLimit = "ratelimit"
	modeFlaky     = "flaky"
	modeError     = "error"
	modeBlocked   = "blocked"
	modeMissing   = "missing"
	modeMalformed = "malformed"
)

var modes = []string{modeSlow, modeRateLimit, modeFlaky, modeError, modeBlocked, modeMissing, modeMalformed}

// business is one sandbox business, fully determined by its id (and the
// reviews=N override).
type business struct {
	id    string
	name  string
	count int
	mode  string
	seed  uint64
}

// params are the per-request knobs from the query string.
type params struct {
	page       int
	perPage    int
	delay      time.Duration
	times      int
	retryAfter string
}

func parseRequest(r *http.Request) (business, params, error) {
	q := r.URL.Query()
	b, err := newBusiness(r.PathValue("id"), q)
	if err != nil {
		return b, params{}, err
	}
	p, err := parseParams(q, b.mode)
	return b, p, err
}

func newBusiness(id string, q url.Values) (business, error) {
	mode, rest := splitMode(id)
	if m := q.Get("mode"); m != "" {
		if !isMode(m) {
			return business{}, fmt.Errorf("mode %q: use one of %s", m, strings.Join(modes, ", "))
		}
		mode = m
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	b := business{id: id, mode: mode, seed: h.Sum64()}
	base, n, hasCount := splitCount(rest)
	b.name = displayName(base, id)
	switch {
	case q.Has("reviews"):
		count, err := intParam(q, "reviews", 0, 0, maxReviews)
		if err != nil {
			return b, err
		}
		b.count = count
	case hasCount:
		b.count = min(n, maxReviews)
	default:
		b.count = 5 + int(b.seed%56)
	}
	return b, nil
}

func parseParams(q url.Values, mode string) (params, error) {
	var p params
	var err error
	if p.page, err = intParam(q, "page", 1, 1, 1<<30); err != nil {
		return p, err
	}
	if p.perPage, err = intParam(q, "per_page", defaultPerPage, 1, maxPerPage); err != nil {
		return p, err
	}
	if p.times, err = intParam(q, "times", 1, 0, maxTimes); err != nil {
		return p, err
	}
	if p.delay, err = delayParam(q, mode); err != nil {
		return p, err
	}
	p.retryAfter = q.Get("retry_after")
	if p.retryAfter == "" {
		p.retryAfter = "1"
	}
	return p, nil
}

func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s=%q: want an integer from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

// delayParam reads delay=2s (a Go duration, or plain seconds); slow- ids
// default to slowDelay.
func delayParam(q url.Values, mode string) (time.Duration, error) {
	v := q.Get("delay")
	if v == "" {
		if mode == modeSlow {
			return slowDelay, nil
		}
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, serr := strconv.Atoi(v)
		d, err = time.Duration(secs)*time.Second, serr
	}
	if err != nil || d < 0 || d > maxDelay {
		return 0, fmt.Errorf("delay=%q: want a duration such as 2s or 500ms, at most %s", v, maxDelay)
	}
	return d, nil
}

func splitMode(id string) (mode, rest string) {
	for _, m := range modes {
		if r, ok := strings.CutPrefix(id, m+"-"); ok {
			return m, r
		}
	}
	return "", id
}

func isMode(m string) bool {
	for _, known := range modes {
		if m == known {
			return true
		}
	}
	return false
}

// splitCount splits "acme-120" into "acme" and 120.
func splitCount(s string) (base string, n int, ok bool) {
	i := strings.LastIndexByte(s, '-')
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 0 {
		return s, 0, false
	}
	if i < 0 {
		return "", n, true
	}
	return s[:i], n, true
}

// displayName turns "joes-pizza" into "Joes Pizza".
func displayName(base, id string) string {
	words := strings.FieldsFunc(base, func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	for i, w := range words {
		_, size := utf8.DecodeRuneInString(w)
		words[i] = strings.ToUpper(w[:size]) + w[size:]
	}
	if len(words) == 0 {
		return "Business " + id
	}
	return strings.Join(words, " ")
}

// fail plays the business's failure mode for one request counted under key.
// It reports true when it has answered (or the client left), false when the
// request should be served normally.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, b business, p params, key string) bool {
	if p.delay > 0 {
		t := time.NewTimer(p.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		}
	}
	switch b.mode {
	case modeMissing:
		http.Error(w, "no such business", http.StatusNotFound)
	case modeBlocked:
		http.Error(w, "blocked: unusual traffic from your network", http.StatusForbidden)
	case modeError:
		http.Error(w, "internal error", http.StatusInternalServerError)
	case modeRateLimit:
		// Counted per business: a retried scrape gets through, as it would
		// once a real publisher's window passes.
		if h.hit(modeRateLimit+"|"+b.id) > p.times {
			return false
		}
		w.Header().Set("Retry-After", p.retryAfter)
		http.Error(w, "too many requests", http.StatusTooManyRequests)
	case modeFlaky:
		// Counted per page, so every page fails once: a caller that retries
		// the whole scrape recovers only after as many attempts as pages.
		if h.hit(modeFlaky+"|"+b.id+"|"+key) > p.times {
			return false
		}
		http.Error(w, "temporary failure", http.StatusInternalServerError)
	default:
		return false
	}
	return true
}

// links are the pagination links of one rendered page (empty when none).
type links struct{ prev, next string }

// pageLinks builds root-relative links to the neighbouring pages, keeping the
// request's other query parameters so reviews=, per_page= and mode= carry on.
func pageLinks(r *http.Request, b business, page, last int) links {
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return "/biz/" + url.PathEscape(b.id) + "?" + q.Encode()
	}
	var l links
	if page > 1 {
		l.prev = link(page - 1)
	}
	if page < last {
		l.next = link(page + 1)
	}
	return l
}
