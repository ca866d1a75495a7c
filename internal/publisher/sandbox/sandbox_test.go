package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/publisher/sandbox"
)

type bundle struct {
	handler *sandbox.Handler
	url     string
}

func setup(t *testing.T) bundle {
	t.Helper()
	h := sandbox.NewHandler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return bundle{handler: h, url: srv.URL}
}

// get fetches path and returns the status, headers and body.
func (b bundle) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(b.url + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(body)
}

// ldBusiness is the part of the sandbox's JSON-LD the tests look at.
type ldBusiness struct {
	Type            string `json:"@type"`
	Name            string `json:"name"`
	AggregateRating struct {
		RatingValue float64 `json:"ratingValue"`
		ReviewCount int     `json:"reviewCount"`
	} `json:"aggregateRating"`
	Review []struct {
		Identifier    string `json:"identifier"`
		DatePublished string `json:"datePublished"`
		Author        any    `json:"author"`
		ReviewRating  struct {
			RatingValue any `json:"ratingValue"`
		} `json:"reviewRating"`
		Comment []struct {
			Text string `json:"text"`
		} `json:"comment"`
	} `json:"review"`
}

func jsonLD(t *testing.T, body string) ldBusiness {
	t.Helper()
	const open = `<script type="application/ld+json">`
	start := strings.Index(body, open)
	require.GreaterOrEqual(t, start, 0, "no JSON-LD block")
	rest := body[start+len(open):]
	var biz ldBusiness
	require.NoError(t, json.Unmarshal([]byte(rest[:strings.Index(rest, "</script>")]), &biz))
	return biz
}

func TestBusinessPagesAreDeterministicAndPaginated(t *testing.T) {
	t.Parallel()
	b := setup(t)

	status, _, page1 := b.get(t, "/biz/acme-120")
	require.Equal(t, http.StatusOK, status)
	_, _, again := b.get(t, "/biz/acme-120")
	require.Equal(t, page1, again)
	// A separate handler generates the same reviews: nothing depends on state or the clock.
	other := setup(t)
	_, _, elsewhere := other.get(t, "/biz/acme-120")
	require.Equal(t, jsonLD(t, page1).Review, jsonLD(t, elsewhere).Review)

	biz := jsonLD(t, page1)
	require.Equal(t, "LocalBusiness", biz.Type)
	require.Equal(t, "Acme", biz.Name)
	require.Equal(t, 120, biz.AggregateRating.ReviewCount)
	require.InDelta(t, 4, biz.AggregateRating.RatingValue, 1)
	require.Len(t, biz.Review, 20)
	require.Contains(t, page1, `<link rel="next" href="/biz/acme-120?page=2">`)
	require.Contains(t, page1, `<a rel="next" href="/biz/acme-120?page=2">`)

	var ids []string
	var last time.Time
	for page := 1; page <= 6; page++ {
		status, _, body := b.get(t, fmt.Sprintf("/biz/acme-120?page=%d", page))
		require.Equal(t, http.StatusOK, status)
		for _, r := range jsonLD(t, body).Review {
			published, err := time.Parse(time.RFC3339, r.DatePublished)
			require.NoError(t, err)
			if !last.IsZero() {
				require.True(t, published.Before(last), "newest first")
			}
			last = published
			ids = append(ids, r.Identifier)
		}
		require.Equal(t, page < 6, strings.Contains(body, `rel="next"`), page)
	}
	require.Len(t, ids, 120)
	require.Len(t, uniq(ids), 120)

	status, _, _ = b.get(t, "/biz/acme-120?page=7")
	require.Equal(t, http.StatusNotFound, status)
}

func TestMarkupVariesLikeRealPublishers(t *testing.T) {
	t.Parallel()
	b := setup(t)

	_, _, body := b.get(t, "/biz/acme-120")
	var stringAuthor, stringRating, replies int
	for _, r := range jsonLD(t, body).Review {
		if _, ok := r.Author.(string); ok {
			stringAuthor++
		}
		if _, ok := r.ReviewRating.RatingValue.(string); ok {
			stringRating++
		}
		if len(r.Comment) > 0 {
			replies++
		}
	}
	require.Positive(t, stringAuthor)
	require.Positive(t, stringRating)
	require.Positive(t, replies)
}

func TestReviewCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)

	count := func(path string) int {
		status, _, body := b.get(t, path)
		require.Equal(t, http.StatusOK, status, path)
		return jsonLD(t, body).AggregateRating.ReviewCount
	}
	require.Equal(t, 7, count("/biz/acme-120?reviews=7"))
	require.Equal(t, 40, count("/biz/ratelimit-acme-40?mode=flaky&times=0"), "the mode prefix is not part of the count")
	hashed := count("/biz/corner-shop")
	require.GreaterOrEqual(t, hashed, 5)
	require.LessOrEqual(t, hashed, 60)
	require.Equal(t, hashed, count("/biz/corner-shop"))

	_, _, body := b.get(t, "/biz/acme-120?per_page=50&page=3")
	require.Len(t, jsonLD(t, body).Review, 20)

	status, _, body := b.get(t, "/biz/empty-0")
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, jsonLD(t, body).Review)
	require.NotContains(t, body, "aggregateRating")

	for _, bad := range []string{"?page=0", "?page=x", "?per_page=101", "?reviews=-1", "?mode=nope", "?delay=forever"} {
		status, _, _ := b.get(t, "/biz/acme-10"+bad)
		require.Equal(t, http.StatusBadRequest, status, bad)
	}
}

func TestNextLinkKeepsParameters(t *testing.T) {
	t.Parallel()
	b := setup(t)

	_, _, body := b.get(t, "/biz/acme?reviews=30&per_page=10&page=2")
	require.Contains(t, body, `<link rel="next" href="/biz/acme?page=3&amp;per_page=10&amp;reviews=30">`)
	require.Contains(t, body, `<link rel="prev" href="/biz/acme?page=1&amp;per_page=10&amp;reviews=30">`)
}

func TestFailureModes(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for path, want := range map[string]int{
		"/biz/missing-acme-10":    http.StatusNotFound,
		"/biz/blocked-acme-10":    http.StatusForbidden,
		"/biz/error-acme-10":      http.StatusInternalServerError,
		"/biz/acme-10?mode=error": http.StatusInternalServerError,
	} {
		for range 2 {
			status, _, _ := b.get(t, path)
			require.Equal(t, want, status, path)
		}
	}

	status, _, body := b.get(t, "/biz/malformed-acme-10")
	require.Equal(t, http.StatusOK, status)
	start := strings.Index(body, `<script type="application/ld+json">`)
	end := strings.Index(body, "</script>")
	var v any
	require.Error(t, json.Unmarshal([]byte(body[start+len(`<script type="application/ld+json">`):end]), &v))
}

func TestRateLimitCountsPerBusiness(t *testing.T) {
	t.Parallel()
	b := setup(t)

	status, h, _ := b.get(t, "/biz/ratelimit-acme-40")
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, "1", h.Get("Retry-After"))
	status, _, _ = b.get(t, "/biz/ratelimit-acme-40?page=2")
	require.Equal(t, http.StatusOK, status, "the business's quota is spent, not the page's")

	for range 2 {
		status, h, _ = b.get(t, "/biz/ratelimit-other-5?times=2&retry_after=7")
		require.Equal(t, http.StatusTooManyRequests, status)
		require.Equal(t, "7", h.Get("Retry-After"))
	}
	status, _, _ = b.get(t, "/biz/ratelimit-other-5?times=2&retry_after=7")
	require.Equal(t, http.StatusOK, status)
}

func TestFlakyFailsEachPageOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for _, page := range []string{"?page=1", "?page=2"} {
		status, _, _ := b.get(t, "/biz/flaky-acme-40"+page)
		require.Equal(t, http.StatusInternalServerError, status, page)
		status, _, _ = b.get(t, "/biz/flaky-acme-40"+page)
		require.Equal(t, http.StatusOK, status, page)
	}
}

func TestSlowHonoursDelayAndClientCancellation(t *testing.T) {
	t.Parallel()
	b := setup(t)

	start := time.Now()
	status, _, _ := b.get(t, "/biz/acme-3?delay=50ms")
	require.Equal(t, http.StatusOK, status)
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url+"/biz/slow-acme-3", nil)
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestRepliesArePostedAndPublished(t *testing.T) {
	t.Parallel()
	b := setup(t)

	_, _, body := b.get(t, "/biz/acme-5")
	reviewID := jsonLD(t, body).Review[0].Identifier

	resp := post(t, b.url+"/biz/acme-5/reviews/"+reviewID+"/reply", `{"text": "Thank you!"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var rep sandbox.Reply
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rep))
	require.Equal(t, reviewID, rep.ReviewID)
	require.Equal(t, "Thank you!", rep.Text)

	stored, ok := b.handler.Reply("acme-5", reviewID)
	require.True(t, ok)
	require.Equal(t, rep, stored)

	status, _, replyBody := b.get(t, "/biz/acme-5/reviews/"+reviewID+"/reply")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, replyBody, "Thank you!")

	_, _, body = b.get(t, "/biz/acme-5")
	require.Equal(t, "Thank you!", jsonLD(t, body).Review[0].Comment[0].Text)

	status, _, single := b.get(t, "/biz/acme-5/reviews/"+reviewID)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, jsonLD(t, single).Review, 1)

	require.Equal(t, http.StatusNotFound, post(t, b.url+"/biz/acme-5/reviews/rv-nope/reply", `{"text": "x"}`).StatusCode)
	require.Equal(t, http.StatusBadRequest, post(t, b.url+"/biz/acme-5/reviews/"+reviewID+"/reply", `{"text": ""}`).StatusCode)
	require.Equal(t, http.StatusNotFound, post(t, b.url+"/biz/missing-acme-5/reviews/"+reviewID+"/reply", `{"text": "x"}`).StatusCode)
	status, _, _ = b.get(t, "/biz/acme-5/reviews/rv-nope/reply")
	require.Equal(t, http.StatusNotFound, status)
}

func TestConcurrentRepliesAndReads(t *testing.T) {
	t.Parallel()
	b := setup(t)

	_, _, body := b.get(t, "/biz/busy-20")
	reviews := jsonLD(t, body).Review
	// Goroutines only record outcomes: require must run on the test's goroutine.
	posted := make([]int, len(reviews))
	read := make([]error, len(reviews))
	var wg sync.WaitGroup
	for i, r := range reviews {
		wg.Go(func() {
			body := strings.NewReader(fmt.Sprintf(`{"text": "reply %d"}`, i))
			resp, err := http.Post(b.url+"/biz/busy-20/reviews/"+r.Identifier+"/reply", "application/json", body)
			if err == nil {
				posted[i] = resp.StatusCode
				resp.Body.Close()
			}
		})
		wg.Go(func() {
			resp, err := http.Get(b.url + "/biz/busy-20")
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			read[i] = err
		})
	}
	wg.Wait()
	for i := range reviews {
		require.Equal(t, http.StatusCreated, posted[i])
		require.NoError(t, read[i])
	}

	_, _, body = b.get(t, "/biz/busy-20")
	for i, r := range jsonLD(t, body).Review {
		require.Equal(t, fmt.Sprintf("reply %d", i), r.Comment[0].Text)
	}
}

func TestNewServer(t *testing.T) {
	t.Parallel()

	srv, addr, err := sandbox.NewServer("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })

	resp, err := http.Get("http://" + addr + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), `href="/biz/acme-120"`)

	_, _, err = sandbox.NewServer(addr)
	require.ErrorContains(t, err, "choose a free address")
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func uniq(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}
