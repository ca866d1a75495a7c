package jsonld_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/publisher"
	"github.com/reviewdata/rd/internal/publisher/jsonld"
	"github.com/reviewdata/rd/internal/publisher/sandbox"
)

func TestScrapesEveryReviewOfASandboxBusiness(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)

	pages := b.scrapePath(t, "/biz/acme-120", publisher.ScrapeRequest{})

	require.Len(t, pages, 6)
	require.Equal(t, 6, b.counter.count())
	for i, p := range pages {
		require.Equal(t, i+1, p.Number)
		require.Len(t, p.Reviews, 20)
		require.Equal(t, "Acme", p.Business.Name)
		require.Equal(t, 120, p.Business.RatingCount)
		require.NotNil(t, p.Business.RatingValue)
		require.Equal(t, b.url+"/biz/acme-120", p.Business.PublisherBusinessID)
		require.Zero(t, p.SkippedBlocks)
	}
	require.Equal(t, b.url+"/biz/acme-120", pages[0].URL)
	require.Equal(t, b.url+"/biz/acme-120?page=6", pages[5].URL)

	reviews := reviewsOf(pages)
	require.Len(t, reviews, 120)
	ids := map[string]bool{}
	replies := 0
	for i, r := range reviews {
		ids[r.ReviewID] = true
		require.True(t, strings.HasPrefix(r.ReviewID, "rv-"), "the publisher's identifier is the id")
		require.Len(t, r.ContentHash, 64)
		require.NotNil(t, r.Rating)
		require.Equal(t, 5.0, *r.BestRating)
		require.Equal(t, 1.0, *r.WorstRating)
		require.NotEmpty(t, r.Author)
		require.NotEmpty(t, r.Title)
		require.NotEmpty(t, r.Text)
		require.Equal(t, "en", r.Language)
		require.Equal(t, b.url+"/biz/acme-120/reviews/"+r.ReviewID, r.ReviewURL)
		if i > 0 {
			require.True(t, r.PublishedAt.Before(reviews[i-1].PublishedAt), "newest first")
		}
		if r.OwnerReply != nil {
			replies++
			require.NotEmpty(t, r.OwnerReply.Text)
			require.True(t, r.OwnerReply.PublishedAt.After(r.PublishedAt))
		}
	}
	require.Len(t, ids, 120)
	require.Positive(t, replies)
}

func TestMaxReviewsStopsMidPageWithoutFetchingMore(t *testing.T) {
	t.Parallel()

	b := setupSandbox(t)
	pages := b.scrapePath(t, "/biz/acme-120", publisher.ScrapeRequest{MaxReviews: 45})
	require.Len(t, reviewsOf(pages), 45)
	require.Len(t, pages, 3)
	require.Len(t, pages[2].Reviews, 5)
	require.Equal(t, 3, b.counter.count())

	// A cap on a page boundary does not fetch the page after it.
	b = setupSandbox(t)
	pages = b.scrapePath(t, "/biz/acme-120", publisher.ScrapeRequest{MaxReviews: 40})
	require.Len(t, reviewsOf(pages), 40)
	require.Equal(t, 2, b.counter.count())
}

func TestFromDateDropsOlderReviewsAndStopsPagination(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)
	all := reviewsOf(b.scrapePath(t, "/biz/acme-120", publisher.ScrapeRequest{}))

	// Review 50 sits on page 3 (reviews 40-59): page 3 still has recent
	// reviews, page 4 has none, so the scrape fetches 4 pages and stops.
	fresh := setupSandbox(t)
	from := all[50].PublishedAt
	pages := fresh.scrapePath(t, "/biz/acme-120", publisher.ScrapeRequest{FromDate: from})

	require.Equal(t, idsOf(all[:51]), idsOf(reviewsOf(pages)))
	require.Equal(t, 4, fresh.counter.count())
	require.Len(t, pages, 4)
	require.Empty(t, pages[3].Reviews)
}

func TestReviewIDsAndHashesAreStableAcrossRuns(t *testing.T) {
	t.Parallel()

	// Two separate sandbox servers: different ports, same business.
	first := reviewsOf(setupSandbox(t).scrapePath(t, "/biz/joes-pizza-45", publisher.ScrapeRequest{}))
	second := reviewsOf(setupSandbox(t).scrapePath(t, "/biz/joes-pizza-45", publisher.ScrapeRequest{}))

	require.Len(t, first, 45)
	require.Equal(t, idsOf(first), idsOf(second))
	for i := range first {
		require.Equal(t, first[i].ContentHash, second[i].ContentHash)
	}
}

func TestAPostedReplyChangesTheHashNotTheID(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)
	before := reviewsOf(b.scrapePath(t, "/biz/acme-3", publisher.ScrapeRequest{}))

	target := before[0]
	resp, err := http.Post(b.url+"/biz/acme-3/reviews/"+target.ReviewID+"/reply", "application/json",
		strings.NewReader(`{"text": "Thanks for visiting!"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	after := reviewsOf(b.scrapePath(t, "/biz/acme-3", publisher.ScrapeRequest{}))
	require.Equal(t, target.ReviewID, after[0].ReviewID)
	require.NotEqual(t, target.ContentHash, after[0].ContentHash)
	require.Equal(t, "Thanks for visiting!", after[0].OwnerReply.Text)
	require.Equal(t, before[1], after[1], "other reviews are untouched")
}

func TestFailureModesMapToReasons(t *testing.T) {
	t.Parallel()

	cases := []struct {
		path       string
		reason     publisher.FailureReason
		retryable  bool
		retryAfter time.Duration
	}{
		{"/biz/missing-acme-10", publisher.ReasonNotFound, false, 0},
		{"/biz/blocked-acme-10", publisher.ReasonBlocked, false, 0},
		{"/biz/error-acme-10", publisher.ReasonPublisherUnavailable, true, 0},
		{"/biz/flaky-acme-10", publisher.ReasonPublisherUnavailable, true, 0},
		{"/biz/ratelimit-acme-10", publisher.ReasonRateLimited, true, time.Second},
		{"/biz/acme-10?mode=ratelimit&retry_after=30", publisher.ReasonRateLimited, true, 30 * time.Second},
		{"/biz/malformed-acme-10", publisher.ReasonParseError, false, 0},
		{"/biz/acme-10?page=9", publisher.ReasonNotFound, false, 0},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			t.Parallel()
			b := setupSandbox(t)
			pages, err := b.scrape(context.Background(), publisher.ScrapeRequest{URL: b.url + c.path})
			e := failure(t, err)
			require.Equal(t, c.reason, e.Reason)
			require.Equal(t, c.retryable, e.Retryable)
			require.Equal(t, c.retryAfter, e.RetryAfter)
			require.Empty(t, pages)
		})
	}
}

func TestSlowPublisherTimesOut(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := b.scrape(ctx, publisher.ScrapeRequest{URL: b.url + "/biz/slow-acme-10"})
	e := failure(t, err)
	require.Equal(t, publisher.ReasonTimeout, e.Reason)
	require.True(t, e.Retryable)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The shared client's own timeout counts as a timeout too.
	client := &http.Client{Timeout: 100 * time.Millisecond}
	d, err := jsonld.New(client, jsonld.Options{})
	require.NoError(t, err)
	err = d.Scrape(context.Background(), publisher.ScrapeRequest{URL: b.url + "/biz/acme-10?delay=2s"},
		func(publisher.Page) error { return nil })
	require.Equal(t, publisher.ReasonTimeout, failure(t, err).Reason)
}

func TestFlakyPublisherRecoversWhenTheCallerRetries(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)

	// flaky- fails the first request to each page, so a caller retrying the
	// whole scrape gets one page further per attempt: 3 pages, 4 attempts.
	var pages []publisher.Page
	failures := 0
	for ; failures < 10; failures++ {
		var err error
		pages, err = b.scrape(context.Background(), publisher.ScrapeRequest{URL: b.url + "/biz/flaky-acme-45"})
		if err == nil {
			break
		}
		e := failure(t, err)
		require.Equal(t, publisher.ReasonPublisherUnavailable, e.Reason)
		require.True(t, e.Retryable)
		require.Len(t, pages, failures, "pages before the failing one were emitted")
	}
	require.Equal(t, 3, failures)
	require.Len(t, reviewsOf(pages), 45)
}

func TestRateLimitedPublisherRecoversAfterRetryAfter(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)

	_, err := b.scrape(context.Background(), publisher.ScrapeRequest{URL: b.url + "/biz/ratelimit-acme-30"})
	e := failure(t, err)
	require.Equal(t, publisher.ReasonRateLimited, e.Reason)
	require.Equal(t, time.Second, e.RetryAfter)

	// The caller (Temporal's retry) waits RetryAfter; the test needs no
	// wait, the sandbox counts requests, not time.
	pages, err := b.scrape(context.Background(), publisher.ScrapeRequest{URL: b.url + "/biz/ratelimit-acme-30"})
	require.NoError(t, err)
	require.Len(t, reviewsOf(pages), 30)
}

func TestInvalidURLsFailBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)

	for _, u := range []string{"", "acme-120", "/biz/acme-120", "ftp://example.com/biz", "http:///biz/acme-120", "javascript:alert(1)"} {
		_, err := b.scrape(context.Background(), publisher.ScrapeRequest{URL: u})
		e := failure(t, err)
		require.Equal(t, publisher.ReasonInvalidURL, e.Reason, u)
		require.False(t, e.Retryable)
	}
	require.Zero(t, b.counter.count())
}

func TestUnreachablePublisherIsUnavailable(t *testing.T) {
	t.Parallel()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	d, err := jsonld.New(http.DefaultClient, jsonld.Options{})
	require.NoError(t, err)
	err = d.Scrape(context.Background(), publisher.ScrapeRequest{URL: "http://" + addr + "/biz/acme-1"},
		func(publisher.Page) error { return nil })
	e := failure(t, err)
	require.Equal(t, publisher.ReasonPublisherUnavailable, e.Reason)
	require.True(t, e.Retryable)
}

func TestEmitErrorStopsTheScrape(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)

	stop := errors.New("batch store full")
	err := b.driver.Scrape(context.Background(), publisher.ScrapeRequest{URL: b.url + "/biz/acme-120"},
		func(publisher.Page) error { return stop })
	require.ErrorIs(t, err, stop)
	_, isPublisherErr := errors.AsType[*publisher.Error](err)
	require.False(t, isPublisherErr)
	require.Equal(t, 1, b.counter.count())
}

func TestCancelledScrapeIsNotAPublisherFailure(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)

	ctx, cancel := context.WithCancel(context.Background())
	err := b.driver.Scrape(ctx, publisher.ScrapeRequest{URL: b.url + "/biz/acme-120"},
		func(publisher.Page) error {
			cancel()
			return nil
		})
	require.ErrorIs(t, err, context.Canceled)
	_, isPublisherErr := errors.AsType[*publisher.Error](err)
	require.False(t, isPublisherErr)
}

func TestPageCapEndsTheScrape(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.NewHandler(), jsonld.Options{MaxPages: 2})

	pages := b.scrapePath(t, "/biz/acme-120", publisher.ScrapeRequest{})
	require.Len(t, pages, 2)
	require.Equal(t, 2, b.counter.count())
}

func TestNewValidatesItsArguments(t *testing.T) {
	t.Parallel()

	_, err := jsonld.New(nil, jsonld.Options{})
	require.ErrorContains(t, err, "pass the shared HTTP client")
	_, err = jsonld.New(http.DefaultClient, jsonld.Options{MaxPages: -1})
	require.ErrorContains(t, err, "must not be negative")
	_, err = jsonld.New(http.DefaultClient, jsonld.Options{MaxBodyBytes: -1})
	require.ErrorContains(t, err, "must not be negative")
}
