package app

import (
	"fmt"
	"strconv"
	"time"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/netguard"
)

// ScrapeConfig tunes the scrape workers: how they reach publishers and how
// they cut reviews into batch files.
type ScrapeConfig struct {
	// BatchSize is the number of reviews per batch file. Defaults to 100.
	BatchSize int
	// HTTPTimeout bounds one publisher request, body included. Defaults to 30s.
	HTTPTimeout time.Duration
	// AllowPrivate lets drivers reach loopback and private addresses, such
	// as the dev stack's sandbox publisher. Defaults to false (true in the
	// dev stack).
	AllowPrivate bool
}

// defaultScrapeHTTPTimeout is longer than netguard's webhook default: a
// publisher page is slower to render than a webhook is to acknowledge.
const defaultScrapeHTTPTimeout = 30 * time.Second

// newScrapeActivities builds the scrape activities over one publisher HTTP
// client for the whole worker process. The client is netguard's, so a job
// URL cannot reach RD's own network unless AllowPrivate says so.
func newScrapeActivities(cfg ScrapeConfig, d *Deps) (*activities.ScrapeActivities, error) {
	timeout := cfg.HTTPTimeout
	if timeout == 0 {
		timeout = defaultScrapeHTTPTimeout
	}
	client := netguard.NewClient(netguard.Config{AllowPrivate: cfg.AllowPrivate, Timeout: timeout})
	drivers, err := activities.DefaultDrivers(client)
	if err != nil {
		return nil, err
	}
	return &activities.ScrapeActivities{Store: d.Store, Blob: d.Blob, Drivers: drivers, BatchSize: cfg.BatchSize}, nil
}

// parseBatchSize reads SCRAPE_BATCH_SIZE: a positive count.
func parseBatchSize(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("want a positive number of reviews per batch, like 100")
	}
	return n, nil
}

// parsePositiveDuration reads a duration that must be above zero.
func parsePositiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want a positive duration, like 30s")
	}
	return d, nil
}
