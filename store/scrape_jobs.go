package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// ScrapeStatus is a scrape job's place in its lifecycle:
// BUFFERED -> PENDING_SCRAPE -> QUEUED -> IN_PROGRESS -> COMPLETED | FAILED | CANCELLED.
type ScrapeStatus string

// Scrape job statuses.
const (
	// ScrapeBuffered: accepted by the API, waiting for admission.
	ScrapeBuffered ScrapeStatus = "BUFFERED"
	// ScrapePendingScrape: claimed by admission; its workflow start is in flight.
	ScrapePendingScrape ScrapeStatus = "PENDING_SCRAPE"
	// ScrapeQueued: its workflow is started.
	ScrapeQueued ScrapeStatus = "QUEUED"
	// ScrapeInProgress: a worker is scraping.
	ScrapeInProgress ScrapeStatus = "IN_PROGRESS"
	// ScrapeCompleted, ScrapeFailed and ScrapeCancelled are terminal.
	ScrapeCompleted ScrapeStatus = "COMPLETED"
	ScrapeFailed    ScrapeStatus = "FAILED"
	ScrapeCancelled ScrapeStatus = "CANCELLED"
)

// InFlightStatuses count against the admission gate.
var InFlightStatuses = []ScrapeStatus{ScrapePendingScrape, ScrapeQueued, ScrapeInProgress}

// Terminal reports whether no further transition can happen.
func (s ScrapeStatus) Terminal() bool {
	return s == ScrapeCompleted || s == ScrapeFailed || s == ScrapeCancelled
}

// Location is an integrator's business, by its external_location_id.
type Location struct {
	bun.BaseModel `bun:"table:locations"`

	ID                 uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	Integrator         string    `bun:"integrator"`
	ExternalLocationID string    `bun:"external_location_id"`
	CreatedAt          time.Time `bun:"created_at,nullzero,default:now()"`
	UpdatedAt          time.Time `bun:"updated_at,nullzero,default:now()"`
}

// URL statuses of a site.
const (
	URLMissing       = "missing"
	URLPendingFinder = "pending_finder"
	URLPendingQA     = "pending_qa"
	URLActive        = "active"
	URLInvalid       = "invalid"
)

// Site is a location on one publisher.
type Site struct {
	bun.BaseModel `bun:"table:sites"`

	ID                 uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	LocationID         uuid.UUID `bun:"location_id,type:uuid"`
	PublisherKey       string    `bun:"publisher_key"`
	URL                string    `bun:"url,nullzero"`
	URLStatus          string    `bun:"url_status"`
	InternalBusinessID string    `bun:"internal_business_id,nullzero"`
	CreatedAt          time.Time `bun:"created_at,nullzero,default:now()"`
	UpdatedAt          time.Time `bun:"updated_at,nullzero,default:now()"`
}

// ScrapeJob is a row of scrape_jobs.
type ScrapeJob struct {
	bun.BaseModel `bun:"table:scrape_jobs"`

	TaskID        uuid.UUID    `bun:"task_id,pk,type:uuid"`
	RequestID     string       `bun:"request_id"`
	APIKeyID      uuid.UUID    `bun:"api_key_id,type:uuid"`
	Integrator    string       `bun:"integrator"`
	ForeignKey    string       `bun:"foreign_key"`
	LocationID    uuid.UUID    `bun:"location_id,type:uuid"`
	SiteID        uuid.UUID    `bun:"site_id,type:uuid"`
	PublisherKey  string       `bun:"publisher_key"`
	URL           string       `bun:"url"`
	FromDate      *time.Time   `bun:"from_date"`
	MaxReviews    *int         `bun:"max_reviews"`
	Priority      int          `bun:"priority"`
	BrowserBacked bool         `bun:"browser_backed"`
	TaskQueue     string       `bun:"task_queue"`
	Status        ScrapeStatus `bun:"status"`
	WaitingReason string       `bun:"waiting_reason,nullzero"`
	FailureReason string       `bun:"failure_reason,nullzero"`
	FailureDetail string       `bun:"failure_detail,nullzero"`
	ReviewCount   int          `bun:"review_count"`
	SubmittedAt   time.Time    `bun:"submitted_at,nullzero,default:now()"`
	AdmittedAt    *time.Time   `bun:"admitted_at"`
	QueuedAt      *time.Time   `bun:"queued_at"`
	StartedAt     *time.Time   `bun:"started_at"`
	FinishedAt    *time.Time   `bun:"finished_at"`
	UpdatedAt     time.Time    `bun:"updated_at,nullzero,default:now()"`
}

// ScrapeResultBatch is one JSON-lines file of reviews in S3.
type ScrapeResultBatch struct {
	bun.BaseModel `bun:"table:scrape_result_batches"`

	TaskID      uuid.UUID `bun:"task_id,pk,type:uuid"`
	BatchNumber int       `bun:"batch_number,pk"`
	S3Key       string    `bun:"s3_key"`
	URL         string    `bun:"url"`
	ReviewCount int       `bun:"review_count"`
	SHA256      string    `bun:"sha256"`
	CreatedAt   time.Time `bun:"created_at,nullzero,default:now()"`
}

// UpsertLocation returns the location for (integrator, externalID), creating
// it on first use. Safe under concurrent calls.
func UpsertLocation(ctx context.Context, db bun.IDB, integrator, externalID string) (*Location, error) {
	loc := &Location{Integrator: integrator, ExternalLocationID: externalID}
	_, err := db.NewInsert().Model(loc).
		On("CONFLICT (integrator, external_location_id) DO UPDATE").
		Set("updated_at = now()").
		Returning("*").Exec(ctx)
	if err != nil {
		return nil, interpretError(fmt.Errorf("upsert location: %w", err))
	}
	return loc, nil
}

// UpsertSite returns the site of location on publisherKey, creating it on
// first use; a non-empty url replaces the stored one and marks it active.
func UpsertSite(ctx context.Context, db bun.IDB, locationID uuid.UUID, publisherKey, url string) (*Site, error) {
	site := &Site{LocationID: locationID, PublisherKey: publisherKey, URL: url, URLStatus: URLMissing}
	if url != "" {
		site.URLStatus = URLActive
	}
	q := db.NewInsert().Model(site).On("CONFLICT (location_id, publisher_key) DO UPDATE").Set("updated_at = now()")
	if url != "" {
		q = q.Set("url = EXCLUDED.url").Set("url_status = EXCLUDED.url_status")
	}
	if _, err := q.Returning("*").Exec(ctx); err != nil {
		return nil, interpretError(fmt.Errorf("upsert site: %w", err))
	}
	return site, nil
}

// InsertScrapeJob inserts job as given (the caller sets TaskID and Status).
// It returns an error wrapping ErrConflict for a taken task_id and ErrInvalid
// for a row the constraints refuse.
func InsertScrapeJob(ctx context.Context, db bun.IDB, job *ScrapeJob) error {
	if _, err := db.NewInsert().Model(job).Returning("*").Exec(ctx); err != nil {
		return interpretError(fmt.Errorf("insert scrape job: %w", err))
	}
	return nil
}

// FindRecentScrapeJob returns the newest job of apiKeyID with foreignKey
// submitted after since. It returns an error wrapping ErrNotFound when there
// is none.
func FindRecentScrapeJob(ctx context.Context, db bun.IDB, apiKeyID uuid.UUID, foreignKey string, since time.Time) (*ScrapeJob, error) {
	job := new(ScrapeJob)
	err := db.NewSelect().Model(job).
		Where("api_key_id = ?", apiKeyID).Where("foreign_key = ?", foreignKey).Where("submitted_at > ?", since).
		OrderExpr("submitted_at DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, interpretError(fmt.Errorf("find recent scrape job: %w", err))
	}
	return job, nil
}

// GetScrapeJob returns the job with taskID. It returns an error wrapping
// ErrNotFound when there is none.
func GetScrapeJob(ctx context.Context, db bun.IDB, taskID uuid.UUID) (*ScrapeJob, error) {
	job := new(ScrapeJob)
	if err := db.NewSelect().Model(job).Where("task_id = ?", taskID).Scan(ctx); err != nil {
		return nil, interpretError(fmt.Errorf("get scrape job %s: %w", taskID, err))
	}
	return job, nil
}

// ListScrapeBatches returns up to limit batches of taskID with a batch number
// above after, in order.
func ListScrapeBatches(ctx context.Context, db bun.IDB, taskID uuid.UUID, after, limit int) ([]ScrapeResultBatch, error) {
	var batches []ScrapeResultBatch
	err := db.NewSelect().Model(&batches).
		Where("task_id = ?", taskID).Where("batch_number > ?", after).
		OrderExpr("batch_number").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, interpretError(fmt.Errorf("list scrape batches: %w", err))
	}
	return batches, nil
}
