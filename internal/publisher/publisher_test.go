package publisher_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/publisher"
)

func ptr(f float64) *float64 { return &f }

func TestReviewJSONIsTheDocumentedSchema(t *testing.T) {
	t.Parallel()

	r := publisher.Review{
		ReviewID: "r-1", Rating: ptr(4), BestRating: ptr(5), WorstRating: ptr(1),
		Title: "Good", Text: "Nice place", Author: "Ann",
		PublishedAt: time.Date(2025, 5, 30, 10, 0, 0, 0, time.FixedZone("CEST", 2*3600)),
		OwnerReply:  &publisher.OwnerReply{Text: "Thanks"},
		ReviewURL:   "https://example.com/r/1", Language: "en",
	}
	r.Stamp("scope")

	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.JSONEq(t, fmt.Sprintf(`{
		"review_id": "r-1", "content_hash": %q, "rating": 4, "best_rating": 5, "worst_rating": 1,
		"title": "Good", "text": "Nice place", "author": "Ann",
		"published_at": "2025-05-30T08:00:00Z", "owner_reply": {"text": "Thanks"},
		"review_url": "https://example.com/r/1", "language": "en"
	}`, r.ContentHash), string(b))

	// Unknown optional fields are omitted, not zero.
	b, err = json.Marshal(publisher.Review{ReviewID: "r-2", ContentHash: "h"})
	require.NoError(t, err)
	require.JSONEq(t, `{"review_id": "r-2", "content_hash": "h", "text": "", "author": ""}`, string(b))
}

func TestContentHashIgnoresWhitespaceButSeesEdits(t *testing.T) {
	t.Parallel()

	base := publisher.Review{Rating: ptr(4), Title: "Good", Text: "Nice  place\n", Author: "Ann"}
	same := base
	same.Text, same.Title = "  Nice place", " Good "
	same.ReviewURL, same.PublishedAt = "https://elsewhere", time.Now()
	require.Equal(t, publisher.ContentHash(base), publisher.ContentHash(same))
	require.Len(t, publisher.ContentHash(base), 64)

	edits := map[string]func(*publisher.Review){
		"text":   func(r *publisher.Review) { r.Text = "Nice place!" },
		"rating": func(r *publisher.Review) { r.Rating = ptr(5) },
		"nil":    func(r *publisher.Review) { r.Rating = nil },
		"title":  func(r *publisher.Review) { r.Title = "Great" },
		"reply":  func(r *publisher.Review) { r.OwnerReply = &publisher.OwnerReply{Text: "Thanks"} },
		// Moving a word across a field boundary must still change the hash.
		"boundary": func(r *publisher.Review) { r.Title, r.Text = "Good Nice", "place" },
	}
	for name, edit := range edits {
		r := base
		edit(&r)
		require.NotEqual(t, publisher.ContentHash(base), publisher.ContentHash(r), name)
	}
}

func TestStampDerivesStableIDsOnlyWhenMissing(t *testing.T) {
	t.Parallel()

	published := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	a := publisher.Review{Author: "Ann", Text: "v1", PublishedAt: published}
	a.Stamp("https://example.com/biz")
	edited := publisher.Review{Author: "Ann", Text: "v2 edited", PublishedAt: published.In(time.FixedZone("X", 3600))}
	edited.Stamp("https://example.com/biz")

	require.Regexp(t, `^rd-[0-9a-f]{32}$`, a.ReviewID)
	require.Equal(t, a.ReviewID, edited.ReviewID, "an edit keeps the derived id")
	require.NotEqual(t, a.ContentHash, edited.ContentHash, "an edit changes the hash")
	require.Equal(t, time.UTC, edited.PublishedAt.Location())

	other := publisher.Review{Author: "Ann", Text: "v1", PublishedAt: published}
	other.Stamp("https://example.com/other-biz")
	require.NotEqual(t, a.ReviewID, other.ReviewID, "scope separates businesses")

	undated1 := publisher.Review{Text: "one"}
	undated1.Stamp("s")
	undated2 := publisher.Review{Text: "two"}
	undated2.Stamp("s")
	require.NotEqual(t, undated1.ReviewID, undated2.ReviewID, "undated anonymous reviews differ by text")

	own := publisher.Review{ReviewID: "pub-7", Text: "x"}
	own.Stamp("s")
	require.Equal(t, "pub-7", own.ReviewID)
}

func TestFailureReasons(t *testing.T) {
	t.Parallel()

	require.Len(t, publisher.FailureReasons(), 8)
	for _, r := range publisher.FailureReasons() {
		require.True(t, r.Valid(), r)
	}
	require.False(t, publisher.FailureReason("NOPE").Valid())
	require.True(t, publisher.ReasonRateLimited.Retryable())
	require.True(t, publisher.ReasonPublisherUnavailable.Retryable())
	require.True(t, publisher.ReasonTimeout.Retryable())
	require.False(t, publisher.ReasonBlocked.Retryable())
	require.False(t, publisher.ReasonParseError.Retryable())
}

func TestErrorWrapsAndReports(t *testing.T) {
	t.Parallel()

	cause := errors.New("boom")
	e := publisher.NewError(publisher.ReasonRateLimited, cause)
	e.RetryAfter = 2 * time.Second
	wrapped := fmt.Errorf("activity: %w", e)

	require.ErrorIs(t, wrapped, cause)
	require.Equal(t, publisher.ReasonRateLimited, publisher.ReasonOf(wrapped))
	require.Equal(t, "publisher: RATE_LIMITED (retry after 2s): boom", e.Error())
	require.True(t, e.Retryable)

	require.Equal(t, publisher.FailureReason(""), publisher.ReasonOf(nil))
	require.Equal(t, publisher.ReasonUnknown, publisher.ReasonOf(cause))
	require.Equal(t, publisher.ReasonTimeout, publisher.ReasonOf(fmt.Errorf("x: %w", context.DeadlineExceeded)))
	require.Equal(t, "publisher: PARSE_ERROR: bad 3", publisher.Errorf(publisher.ReasonParseError, "bad %d", 3).Error())
}

func TestStatusError(t *testing.T) {
	t.Parallel()

	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		status     int
		retryAfter string
		reason     publisher.FailureReason
		wait       time.Duration
	}{
		{404, "", publisher.ReasonNotFound, 0},
		{410, "", publisher.ReasonNotFound, 0},
		{401, "", publisher.ReasonBlocked, 0},
		{403, "", publisher.ReasonBlocked, 0},
		{408, "", publisher.ReasonTimeout, 0},
		{429, "7", publisher.ReasonRateLimited, 7 * time.Second},
		{429, now.Add(90 * time.Second).Format(http.TimeFormat), publisher.ReasonRateLimited, 90 * time.Second},
		{429, "soon", publisher.ReasonRateLimited, 0},
		{500, "", publisher.ReasonPublisherUnavailable, 0},
		{503, "3", publisher.ReasonPublisherUnavailable, 3 * time.Second},
		{302, "", publisher.ReasonUnknown, 0},
		{400, "", publisher.ReasonUnknown, 0},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.retryAfter != "" {
			h.Set("Retry-After", c.retryAfter)
		}
		err := publisher.StatusError(c.status, h, now)
		e, ok := errors.AsType[*publisher.Error](err)
		require.True(t, ok, c.status)
		require.Equal(t, c.reason, e.Reason, c.status)
		require.Equal(t, c.reason.Retryable(), e.Retryable, c.status)
		require.Equal(t, c.wait, e.RetryAfter, c.status)
	}
	require.NoError(t, publisher.StatusError(200, nil, now))
	require.NoError(t, publisher.StatusError(204, nil, now))
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()

	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	d, ok := publisher.ParseRetryAfter(" 120 ", now)
	require.True(t, ok)
	require.Equal(t, 2*time.Minute, d)

	d, ok = publisher.ParseRetryAfter(now.Add(-time.Hour).Format(http.TimeFormat), now)
	require.True(t, ok)
	require.Zero(t, d, "a past date means now")

	for _, bad := range []string{"", "-1", "1.5", "tomorrow"} {
		_, ok = publisher.ParseRetryAfter(bad, now)
		require.False(t, ok, bad)
	}
}

func TestTransportError(t *testing.T) {
	t.Parallel()

	ctx := context.Background()
	require.NoError(t, publisher.TransportError(ctx, nil))
	require.Equal(t, publisher.ReasonTimeout, publisher.ReasonOf(publisher.TransportError(ctx, context.DeadlineExceeded)))
	require.Equal(t, publisher.ReasonNotFound, publisher.ReasonOf(publisher.TransportError(ctx,
		&net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true})))
	require.Equal(t, publisher.ReasonPublisherUnavailable, publisher.ReasonOf(publisher.TransportError(ctx,
		&net.OpError{Op: "dial", Err: errors.New("connection refused")})))

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err := publisher.TransportError(cancelled, fmt.Errorf("get: %w", context.Canceled))
	require.ErrorIs(t, err, context.Canceled)
	_, isPublisherErr := errors.AsType[*publisher.Error](err)
	require.False(t, isPublisherErr, "cancellation is the caller's doing, not the publisher's")
}

func TestParseURL(t *testing.T) {
	t.Parallel()

	u, err := publisher.ParseURL(" https://example.com/biz/1?page=2 ")
	require.NoError(t, err)
	require.Equal(t, "example.com", u.Host)

	for _, bad := range []string{"", "example.com/biz", "/biz/1", "ftp://example.com/x", "http:///x", "https://", "mailto:a@b.c", "http://[::1"} {
		_, err := publisher.ParseURL(bad)
		require.Equal(t, publisher.ReasonInvalidURL, publisher.ReasonOf(err), bad)
	}
}

func TestDriversGet(t *testing.T) {
	t.Parallel()

	called := false
	drv := publisher.DriverFunc(func(context.Context, publisher.ScrapeRequest, func(publisher.Page) error) error {
		called = true
		return nil
	})
	drivers := publisher.Drivers{publisher.DriverJSONLD: drv, publisher.DriverSandbox: drv}

	got, err := drivers.Get(publisher.DriverJSONLD)
	require.NoError(t, err)
	require.NoError(t, got.Scrape(context.Background(), publisher.ScrapeRequest{}, nil))
	require.True(t, called)

	_, err = drivers.Get("browser")
	require.ErrorIs(t, err, publisher.ErrUnknownDriver)
	require.ErrorContains(t, err, `"browser"; registered: jsonld, sandbox`)
}
