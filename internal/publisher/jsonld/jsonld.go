// Package jsonld is a scrape driver for publisher pages that publish their
// reviews as schema.org JSON-LD, which many review pages do for search
// engines.
//
// # What it reads
//
// Every <script type="application/ld+json"> block on the page. Inside a
// block it walks objects, arrays and @graph, and collects:
//
//   - Review items (also UserReview, CriticReview, EmployerReview), wherever
//     they sit: top level, in @graph, or in the review/reviews array of a
//     LocalBusiness, Product, Organization or any other item. Untyped objects
//     in a review/reviews array count as reviews too.
//   - The business: the item owning the first review (its review array, or
//     the review's itemReviewed, with @id references resolved), else the
//     first item with an aggregateRating or reviews; a standalone
//     AggregateRating fills in its rating when the item has none.
//
// Review fields: identifier (else @id, unless a blank node) as the review id;
// name or headline as title; reviewBody, description or text as text; author
// as a string, a Person/Organization object or an array (first); reviewRating
// (ratingValue, bestRating, worstRating as numbers or numeric strings, decimal
// comma allowed); datePublished (else dateCreated) and dateModified in RFC 3339
// or common variants (date only, no zone, no colon in the offset, "Jan 2,
// 2006"), zone-less times read as UTC; url resolved against the page;
// inLanguage. The owner reply is the first entry of the review's comment
// whose author is not a Person, or is named like the business.
//
// # Pagination and stopping
//
// The next page is the first <link rel="next" href>, else the first
// <a rel="next" href>, resolved against <base href> or the page URL. A next
// link is followed only if it is http(s), on the same site as the request URL
// (ignoring "www.") and not yet visited; at most Options.MaxPages pages are
// fetched. Reaching the page cap ends the scrape without error.
//
// Pages are assumed newest first. Reviews older than ScrapeRequest.FromDate
// are dropped, and pagination stops after a page none of whose new reviews is
// at or after FromDate (a page that mixes old and new continues, so one pinned
// old review cannot end a scrape early). Undated reviews count as recent.
// Pagination also stops after a page with no new reviews, and as soon as
// MaxReviews reviews are kept, mid-page, without fetching further. A review
// whose id was already seen in this scrape (a pinned review repeated on every
// page) is dropped.
//
// # Failures
//
// HTTP outcomes map through publisher.StatusError and
// publisher.TransportError. A page without any JSON-LD block, or whose blocks
// are all malformed JSON, is a PARSE_ERROR. A malformed block next to good
// ones is skipped and counted in Page.SkippedBlocks: a page's other blocks
// (breadcrumbs, a broken widget) should not cost its reviews. A body larger
// than Options.MaxBodyBytes is a PARSE_ERROR, since a truncated page would
// lose reviews silently.
package jsonld

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/reviewdata/rd/internal/publisher"
)

// DefaultUserAgent is sent when Options.UserAgent is empty.
const DefaultUserAgent = "ReviewData-jsonld/1.0"

// Options tune a Driver. The zero value is ready to use.
type Options struct {
	// MaxPages caps the pages fetched by one scrape, a guard against endless
	// pagination. Defaults to 100.
	MaxPages int
	// MaxBodyBytes caps the bytes read from one page. Defaults to 5 MiB.
	MaxBodyBytes int64
	// UserAgent is sent with every request. Defaults to DefaultUserAgent.
	UserAgent string
}

// Driver is the JSON-LD scrape driver. It is safe for concurrent use.
type Driver struct {
	client *http.Client
	opts   Options
	now    func() time.Time
}

var _ publisher.Driver = (*Driver)(nil)

// New returns a driver fetching pages with client, which should be the
// process's shared HTTP client (its timeouts, proxy and dial policy apply).
// It returns an error if client is nil or an option is negative.
func New(client *http.Client, opts Options) (*Driver, error) {
	if client == nil {
		return nil, errors.New("jsonld: nil *http.Client; pass the shared HTTP client")
	}
	if opts.MaxPages < 0 || opts.MaxBodyBytes < 0 {
		return nil, errors.New("jsonld: MaxPages and MaxBodyBytes must not be negative; use 0 for the defaults")
	}
	if opts.MaxPages == 0 {
		opts.MaxPages = 100
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 5 << 20
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	return &Driver{client: client, opts: opts, now: time.Now}, nil
}

// Scrape implements publisher.Driver: it fetches req.URL and the rel="next"
// pages after it, emitting one Page per fetched page (see the package
// comment for what it reads and when it stops).
//
// Errors follow publisher.Driver: an *publisher.Error for publisher failures
// (INVALID_URL for a bad req.URL before any request), emit's error unchanged,
// or an error wrapping context.Canceled. It returns nil when pagination ends,
// FromDate or MaxReviews is reached, or the page cap is hit.
func (d *Driver) Scrape(ctx context.Context, req publisher.ScrapeRequest, emit func(publisher.Page) error) error {
	start, err := publisher.ParseURL(req.URL)
	if err != nil {
		return err
	}
	s := &scrape{
		d: d, req: req, start: start,
		visited: map[string]bool{}, seen: map[string]bool{},
	}
	return s.run(ctx, emit)
}
