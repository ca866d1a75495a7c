package jsonld_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/publisher"
	"github.com/reviewdata/rd/internal/publisher/jsonld"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestGraphWithReferencedBusiness(t *testing.T) {
	t.Parallel()
	b := setupFixtures(t, jsonld.Options{})

	pages := b.scrapePath(t, "/graph.html", publisher.ScrapeRequest{})
	require.Len(t, pages, 1)

	biz := pages[0].Business
	require.Equal(t, "https://example.test/biz/bakery#business", biz.PublisherBusinessID)
	require.Equal(t, "Crumb & Co", biz.Name)
	require.Equal(t, b.url+"/biz/bakery", biz.URL)
	require.Equal(t, 4.5, *biz.RatingValue)
	require.Equal(t, 212, biz.RatingCount, "ratingCount wins over reviewCount")
	require.Equal(t, 5.0, *biz.BestRating)

	reviews := pages[0].Reviews
	require.Len(t, reviews, 3)

	mia := reviews[0]
	require.Equal(t, "https://example.test/biz/bakery#review-2", mia.ReviewID)
	require.Equal(t, "Mia K.", mia.Author)
	require.Equal(t, "Best croissants", mia.Title)
	require.Equal(t, "Flaky, buttery and warm.", mia.Text)
	require.Equal(t, time.Date(2024, 3, 7, 8, 0, 0, 0, time.UTC), mia.PublishedAt, "+0200 offset without a colon")
	require.Equal(t, time.Date(2024, 3, 8, 9, 0, 0, 0, time.UTC), mia.UpdatedAt)
	require.Equal(t, 5.0, *mia.Rating)
	require.Equal(t, 1.0, *mia.WorstRating)
	require.Equal(t, "en-GB", mia.Language)
	require.Equal(t, b.url+"/biz/bakery/reviews/2", mia.ReviewURL)
	require.Equal(t, &publisher.OwnerReply{Text: "Thanks Mia!", PublishedAt: day(2024, 3, 9)}, mia.OwnerReply)

	tom := reviews[1]
	require.Regexp(t, `^rd-[0-9a-f]{32}$`, tom.ReviewID, "a blank-node @id is no id")
	require.Equal(t, "Tom Ray", tom.Author)
	require.Equal(t, day(2024, 3, 1), tom.PublishedAt)
	require.Nil(t, tom.OwnerReply, "a comment by another person is no owner reply")
	require.Nil(t, tom.BestRating)

	ana := reviews[2]
	require.Equal(t, "r-77", ana.ReviewID, "identifier as a PropertyValue")
	require.Equal(t, "Ana", ana.Author)
	require.Equal(t, 4.0, *ana.Rating, "a bare number as reviewRating")
	require.Equal(t, time.Date(2024, 2, 20, 8, 30, 0, 0, time.UTC), ana.PublishedAt, "no zone reads as UTC")
}

func TestProductReviewsAcrossPages(t *testing.T) {
	t.Parallel()
	b := setupFixtures(t, jsonld.Options{})

	pages := b.scrapePath(t, "/product.html", publisher.ScrapeRequest{})
	require.Len(t, pages, 2, "followed <a rel=\"nofollow next\">")
	require.Equal(t, b.url+"/product-2.html", pages[1].URL)

	biz := pages[0].Business
	require.Equal(t, "Acme Widget", biz.Name)
	require.Empty(t, biz.PublisherBusinessID)
	require.Equal(t, 4.2, *biz.RatingValue, "decimal comma")
	require.Equal(t, 3, biz.RatingCount, "reviewCount as a string")

	reviews := reviewsOf(pages)
	require.Equal(t, []string{"Lee", "Kim", "Sam", "Jo"}, authors(reviews), "page 2's repeat of Lee is dropped")
	require.Len(t, pages[1].Reviews, 1)

	lee, kim, sam := reviews[0], reviews[1], reviews[2]
	require.Equal(t, 4.5, *lee.Rating)
	require.Equal(t, 5.0, *lee.BestRating)
	require.Equal(t, 1.0, *lee.WorstRating)
	require.Equal(t, day(2024, 3, 5), lee.PublishedAt)
	require.Equal(t, 3.5, *kim.Rating)
	require.Equal(t, day(2024, 3, 3), kim.PublishedAt, `"March 3, 2024"`)
	require.Equal(t, "Untyped, but in a review array.", sam.Text)
	require.Equal(t, time.Date(2024, 3, 1, 12, 0, 0, 250_000_000, time.UTC), sam.PublishedAt)
	for _, r := range reviews {
		require.Regexp(t, `^rd-[0-9a-f]{32}$`, r.ReviewID)
	}

	again := reviewsOf(b.scrapePath(t, "/product.html", publisher.ScrapeRequest{}))
	require.Equal(t, idsOf(reviews), idsOf(again), "derived ids are stable")
}

func TestMalformedBlockNextToAGoodOneIsSkipped(t *testing.T) {
	t.Parallel()
	b := setupFixtures(t, jsonld.Options{})

	pages := b.scrapePath(t, "/malformed.html", publisher.ScrapeRequest{})
	require.Len(t, pages, 1)
	require.Equal(t, 1, pages[0].SkippedBlocks)
	require.Equal(t, "Fixit Ltd", pages[0].Business.Name)
	require.Equal(t, "https://example.test/org/9", pages[0].Business.PublisherBusinessID)
	require.Len(t, pages[0].Reviews, 1)
	require.Equal(t, "Big Corp", pages[0].Reviews[0].Author, "an Organization as author")
	require.Equal(t, 5.0, *pages[0].Reviews[0].Rating)
}

func TestPagesWithoutUsableJSONLDAreParseErrors(t *testing.T) {
	t.Parallel()
	b := setupFixtures(t, jsonld.Options{})

	for _, path := range []string{"/all-malformed.html", "/no-jsonld.html"} {
		_, err := b.scrape(context.Background(), publisher.ScrapeRequest{URL: b.url + path})
		e := failure(t, err)
		require.Equal(t, publisher.ReasonParseError, e.Reason, path)
		require.False(t, e.Retryable, path)
	}
}

func TestLoopingAndOffsiteNextLinksAreNotFollowed(t *testing.T) {
	t.Parallel()

	for _, path := range []string{"/loop.html", "/offsite.html"} {
		b := setupFixtures(t, jsonld.Options{})
		pages := b.scrapePath(t, path, publisher.ScrapeRequest{})
		require.Len(t, pages, 1, path)
		require.Len(t, pages[0].Reviews, 1, path)
		require.Equal(t, 1, b.counter.count(), path)
	}
}

func TestNextLinkResolvesAgainstBaseHref(t *testing.T) {
	t.Parallel()
	b := setupFixtures(t, jsonld.Options{})

	pages := b.scrapePath(t, "/based.html", publisher.ScrapeRequest{})
	require.Len(t, pages, 2)
	require.Equal(t, b.url+"/nested/page-2.html", pages[1].URL)
	require.Equal(t, []string{"base-1", "base-2"}, idsOf(reviewsOf(pages)))
}

func TestOversizedPageIsAParseError(t *testing.T) {
	t.Parallel()
	b := setupFixtures(t, jsonld.Options{MaxBodyBytes: 512})

	_, err := b.scrape(context.Background(), publisher.ScrapeRequest{URL: b.url + "/graph.html"})
	e := failure(t, err)
	require.Equal(t, publisher.ReasonParseError, e.Reason)
	require.ErrorContains(t, err, "larger than 512 bytes")
}

func authors(reviews []publisher.Review) []string {
	out := make([]string, len(reviews))
	for i, r := range reviews {
		out[i] = r.Author
	}
	return out
}
