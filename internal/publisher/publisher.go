// Package publisher is the publisher contract kit: the types every scrape
// driver speaks and the workflows consume, whatever the publisher.
//
// A Driver turns a ScrapeRequest (a publisher page URL, an optional oldest
// date and an optional review cap) into a stream of Pages, one per fetched
// page, each carrying the Reviews read from it and what the page says about
// the Business. The scrape workflow batches those reviews into JSON-lines
// files in S3; the JSON form of Review is the documented review schema
// (docs/review-schema.md), so its field names are public API.
//
// Drivers report failures as *Error, whose FailureReason is a closed,
// documented enum the workflow maps onto job status and webhook payloads, and
// whose Retryable and RetryAfter fields tell the workflow whether and when to
// try again. StatusError and TransportError give every HTTP driver the same
// mapping from HTTP outcomes to reasons.
//
// Concrete drivers live in sub-packages (jsonld); the sandbox sub-package is a
// deterministic fake publisher for the dev stack and tests.
package publisher

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Driver names as they appear in publisher configuration. The sandbox
// publisher serves JSON-LD, so DriverSandbox is normally registered with the
// jsonld driver too, over an HTTP client allowed to reach the loopback address
// the dev stack serves it on.
const (
	DriverJSONLD  = "jsonld"
	DriverSandbox = "sandbox"
)

// ScrapeRequest is what a driver is asked to scrape.
type ScrapeRequest struct {
	// URL is the publisher page listing the business's reviews, newest first.
	// It must be an absolute http or https URL with a host.
	URL string `json:"url"`
	// FromDate, when set, is the oldest publication time wanted: older reviews
	// are dropped and pagination stops at the first page holding none newer.
	// Reviews without a publication time are kept. Zero means no lower bound.
	FromDate time.Time `json:"from_date,omitzero"`
	// MaxReviews caps the reviews returned over all pages; the driver stops
	// fetching as soon as it has that many. Zero or negative means no cap
	// (drivers still stop at their own page cap).
	MaxReviews int `json:"max_reviews,omitempty"`
}

// Page is one fetched publisher page: the reviews kept from it (after
// deduplication, FromDate and MaxReviews) and what it says about the business.
type Page struct {
	// URL is the page's address after redirects.
	URL string `json:"url"`
	// Number is the page's 1-based position in this scrape.
	Number int `json:"number"`
	// Business is the business the page is about; fields the page does not
	// carry are zero.
	Business Business `json:"business"`
	// Reviews are the reviews kept from this page, in page order; empty when
	// the page had none worth keeping.
	Reviews []Review `json:"reviews"`
	// SkippedBlocks counts markup blocks on the page that could not be parsed
	// and were skipped, so an operator can spot a publisher whose markup is
	// half broken.
	SkippedBlocks int `json:"skipped_blocks,omitempty"`
}

// Driver scrapes reviews from one kind of publisher page.
type Driver interface {
	// Scrape fetches req.URL and the pages that follow it and calls emit once
	// per fetched page, in order, so the caller can batch reviews as they
	// arrive. A page is emitted even when it kept no reviews (the first page
	// still carries the business).
	//
	// Errors: Scrape returns an *Error (see ReasonOf) for every publisher
	// failure, including an invalid req.URL (ReasonInvalidURL); emit's error,
	// unchanged, if emit fails (Scrape stops at once); and an error wrapping
	// context.Canceled if ctx is cancelled. Pages emitted before an error stay
	// valid, so a caller may keep a partial scrape.
	Scrape(ctx context.Context, req ScrapeRequest, emit func(Page) error) error
}

// DriverFunc adapts a function to the Driver interface, for tests and for
// drivers that need no state.
type DriverFunc func(ctx context.Context, req ScrapeRequest, emit func(Page) error) error

// Scrape calls f.
func (f DriverFunc) Scrape(ctx context.Context, req ScrapeRequest, emit func(Page) error) error {
	return f(ctx, req, emit)
}

// ErrUnknownDriver is returned (wrapped) by Drivers.Get for a name nobody
// registered: a configuration error, never a publisher failure.
var ErrUnknownDriver = errors.New("publisher: unknown driver")

// Drivers is the registry of drivers by the name publisher configuration
// uses (DriverJSONLD, DriverSandbox, …). It is built once at start-up, where
// the shared HTTP client is at hand, and only read afterwards.
type Drivers map[string]Driver

// Get returns the driver registered under name. It returns an error wrapping
// ErrUnknownDriver, naming the registered drivers, if there is none.
func (d Drivers) Get(name string) (Driver, error) {
	if drv, ok := d[name]; ok && drv != nil {
		return drv, nil
	}
	names := slices.Sorted(maps.Keys(d))
	return nil, fmt.Errorf("%w %q; registered: %s", ErrUnknownDriver, name, strings.Join(names, ", "))
}

// ParseURL parses a publisher page URL and checks that a driver can fetch it:
// absolute, http or https, with a host. It returns an *Error with
// ReasonInvalidURL otherwise, so the API can refuse a job before it is queued
// with the same rule the driver applies.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, NewError(ReasonInvalidURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, Errorf(ReasonInvalidURL, "url %q: scheme must be http or https", raw)
	}
	if u.Hostname() == "" {
		return nil, Errorf(ReasonInvalidURL, "url %q has no host", raw)
	}
	return u, nil
}
