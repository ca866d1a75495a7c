package jsonld_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/publisher"
	"github.com/reviewdata/rd/internal/publisher/jsonld"
	"github.com/reviewdata/rd/internal/publisher/sandbox"
)

// bundle is a driver pointed at a real HTTP server that counts requests.
type bundle struct {
	driver  *jsonld.Driver
	url     string
	counter *counter
}

// counter counts the GET requests a server answered, to prove the driver
// fetches no more pages than it needs.
type counter struct {
	mu   sync.Mutex
	gets int
}

func (c *counter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			c.mu.Lock()
			c.gets++
			c.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets
}

// setup serves h and returns a driver using the server's client.
func setup(t *testing.T, h http.Handler, opts jsonld.Options) bundle {
	t.Helper()
	c := &counter{}
	srv := httptest.NewServer(c.wrap(h))
	t.Cleanup(srv.Close)
	d, err := jsonld.New(srv.Client(), opts)
	require.NoError(t, err)
	return bundle{driver: d, url: srv.URL, counter: c}
}

// setupSandbox serves a fresh sandbox publisher (fresh failure counters).
func setupSandbox(t *testing.T) bundle {
	t.Helper()
	return setup(t, sandbox.NewHandler(), jsonld.Options{})
}

// setupFixtures serves testdata/.
func setupFixtures(t *testing.T, opts jsonld.Options) bundle {
	t.Helper()
	return setup(t, http.FileServer(http.Dir("testdata")), opts)
}

// scrape runs one scrape and returns the pages emitted and its error.
func (b bundle) scrape(ctx context.Context, req publisher.ScrapeRequest) ([]publisher.Page, error) {
	var pages []publisher.Page
	err := b.driver.Scrape(ctx, req, func(p publisher.Page) error {
		pages = append(pages, p)
		return nil
	})
	return pages, err
}

// scrapePath scrapes the server's path and requires success.
func (b bundle) scrapePath(t *testing.T, path string, req publisher.ScrapeRequest) []publisher.Page {
	t.Helper()
	req.URL = b.url + path
	pages, err := b.scrape(context.Background(), req)
	require.NoError(t, err)
	return pages
}

func reviewsOf(pages []publisher.Page) []publisher.Review {
	var all []publisher.Review
	for _, p := range pages {
		all = append(all, p.Reviews...)
	}
	return all
}

func idsOf(reviews []publisher.Review) []string {
	ids := make([]string, len(reviews))
	for i, r := range reviews {
		ids[i] = r.ReviewID
	}
	return ids
}

// failure returns err's *publisher.Error, failing the test if there is none.
func failure(t *testing.T, err error) *publisher.Error {
	t.Helper()
	require.Error(t, err)
	e, ok := errors.AsType[*publisher.Error](err)
	require.True(t, ok, "want a *publisher.Error, got %T: %v", err, err)
	return e
}
