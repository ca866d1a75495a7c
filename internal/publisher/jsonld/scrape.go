package jsonld

import (
	"cmp"
	"context"
	"net/url"
	"strings"

	"github.com/reviewdata/rd/internal/publisher"
)

// scrape is the state of one Scrape call.
type scrape struct {
	d     *Driver
	req   publisher.ScrapeRequest
	start *url.URL
	// scope names the business for derived review ids; fixed by the first
	// page so every page of a scrape derives ids the same way.
	scope   string
	visited map[string]bool // page URLs fetched, without fragment
	seen    map[string]bool // review ids met so far
	kept    int
}

func (s *scrape) run(ctx context.Context, emit func(publisher.Page) error) error {
	next := s.start
	for n := 1; next != nil && n <= s.d.opts.MaxPages; n++ {
		s.visited[pageKey(next)] = true
		doc, err := s.d.fetch(ctx, next)
		if err != nil {
			return err
		}
		s.visited[pageKey(doc.url)] = true
		page, more, err := s.page(n, doc)
		if err != nil {
			return err
		}
		if err := emit(page); err != nil {
			return err
		}
		if !more {
			return nil
		}
		next = s.follow(doc)
	}
	return nil
}

// page turns a fetched document into a Page and reports whether pagination
// should go on.
func (s *scrape) page(n int, doc *document) (publisher.Page, bool, error) {
	ext, err := extract(doc.blocks, doc.url)
	if err != nil {
		return publisher.Page{}, false, err
	}
	if s.scope == "" {
		s.scope = cmp.Or(ext.business.PublisherBusinessID, canonical(s.start))
	}
	reviews, more := s.keep(ext.reviews)
	return publisher.Page{
		URL: doc.url.String(), Number: n, Business: ext.business,
		Reviews: reviews, SkippedBlocks: ext.skipped,
	}, more, nil
}

// keep stamps a page's reviews and applies deduplication, FromDate and
// MaxReviews. more is false once MaxReviews is reached, or when the page had
// no new review at or after FromDate.
func (s *scrape) keep(reviews []publisher.Review) (kept []publisher.Review, more bool) {
	kept = []publisher.Review{}
	recent := false
	for _, r := range reviews {
		if s.full() {
			return kept, false
		}
		r.Stamp(s.scope)
		if s.seen[r.ReviewID] {
			continue
		}
		s.seen[r.ReviewID] = true
		if !s.req.FromDate.IsZero() && !r.PublishedAt.IsZero() && r.PublishedAt.Before(s.req.FromDate) {
			continue
		}
		recent = true
		kept = append(kept, r)
		s.kept++
	}
	return kept, recent && !s.full()
}

func (s *scrape) full() bool {
	return s.req.MaxReviews > 0 && s.kept >= s.req.MaxReviews
}

// follow returns the next page to fetch, or nil when there is none worth
// following.
func (s *scrape) follow(doc *document) *url.URL {
	if doc.next == "" {
		return nil
	}
	base := doc.url
	if doc.base != "" {
		if b, err := doc.url.Parse(doc.base); err == nil {
			base = b
		}
	}
	next, err := base.Parse(doc.next)
	if err != nil || (next.Scheme != "http" && next.Scheme != "https") {
		return nil
	}
	// Another site's "next" is not this business's next page, and following
	// it would let a page steer the scraper anywhere.
	if site(next) != site(s.start) || s.visited[pageKey(next)] {
		return nil
	}
	return next
}

func pageKey(u *url.URL) string {
	c := *u
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

func site(u *url.URL) string {
	return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
}

// canonical is the request URL as a derived-id scope: lower-case scheme and
// host, no fragment.
func canonical(u *url.URL) string {
	c := *u
	c.Scheme, c.Host = strings.ToLower(c.Scheme), strings.ToLower(c.Host)
	return pageKey(&c)
}
