package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/reviewdata/rd/internal/blob"
	"github.com/reviewdata/rd/internal/publisher"
	"github.com/reviewdata/rd/internal/publisher/jsonld"
	"github.com/reviewdata/rd/store"
)

// DefaultBatchSize is how many reviews one batch file holds when
// ScrapeActivities.BatchSize is zero.
const DefaultBatchSize = 100

// MaxRetryAfter caps the delay a publisher's Retry-After can impose on the
// next attempt: a publisher asking for an hour should not park a job that
// long when the retry policy would try sooner.
const MaxRetryAfter = 10 * time.Minute

// BatchContentType is the Content-Type of review batch objects: JSON lines.
const BatchContentType = "application/x-ndjson"

// Application error types of the scrape activities that are not publisher
// failures. A publisher failure's type is its publisher.FailureReason
// (INVALID_URL, BLOCKED, RATE_LIMITED, …): the workflow reads the job's
// failure reason back from the type, also once retries are exhausted.
const (
	// ErrTypeScrapeJobNotFound: no scrape_jobs row has the task ID.
	ErrTypeScrapeJobNotFound = "ScrapeJobNotFound"
	// ErrTypeScrapeJobNotAdmitted: the row is still BUFFERED; admission has
	// not claimed it, so running it would bypass the gate.
	ErrTypeScrapeJobNotAdmitted = "ScrapeJobNotAdmitted"
	// ErrTypeNoDriver: no driver serves the job's publisher (configuration).
	ErrTypeNoDriver = "NoScrapeDriver"
	// ErrTypeBadInput: the workflow passed something unusable (a task ID
	// that is not a UUID, a non-terminal finish status).
	ErrTypeBadInput = "BadScrapeInput"
)

// ScrapeReviewsName is ScrapeReviews' registered activity name, for the
// scraping-browser worker that registers that one method alone.
const ScrapeReviewsName = "ScrapeReviews"

// ScrapeActivities run the scrape workflow's steps: claim the job
// (IN_PROGRESS), scrape its publisher into review batches in S3, and record
// the outcome. They are registered on every scrape queue; ScrapeReviews also
// on scraping-browser, for browser-backed publishers.
type ScrapeActivities struct {
	// Store is the source of truth for jobs and batches.
	Store *store.Store
	// Blob holds the batch files and makes their public URLs.
	Blob *blob.Store
	// Drivers scrape publishers. A job uses the driver registered under its
	// publisher key, else the generic publisher.DriverJSONLD one (any
	// publisher whose pages carry schema.org JSON-LD reviews).
	Drivers publisher.Drivers
	// BatchSize is the number of reviews per batch file. Defaults to
	// DefaultBatchSize.
	BatchSize int
}

// DefaultDrivers returns the drivers RD ships, fetching over client (the
// shared publisher client, see netguard): jsonld, also registered as the
// sandbox publisher's driver since the sandbox serves JSON-LD pages.
func DefaultDrivers(client *http.Client) (publisher.Drivers, error) {
	d, err := jsonld.New(client, jsonld.Options{})
	if err != nil {
		return nil, err
	}
	return publisher.Drivers{publisher.DriverJSONLD: d, publisher.DriverSandbox: d}, nil
}

// ScrapeTask names the job an activity works on.
type ScrapeTask struct {
	TaskID string `json:"task_id"`
}

// ScrapeStart is what StartScrape tells the workflow about its job.
type ScrapeStart struct {
	// Status is the row's status after the call: IN_PROGRESS, or the
	// terminal status it already had.
	Status store.ScrapeStatus `json:"status"`
	// PublisherKey is the publisher scraped.
	PublisherKey string `json:"publisher_key"`
	// BrowserBacked routes ScrapeReviews to the scraping-browser queue.
	BrowserBacked bool `json:"browser_backed"`
}

// ScrapeProgress is what ScrapeReviews wrote; it is also the heartbeat.
type ScrapeProgress struct {
	Pages   int `json:"pages"`
	Reviews int `json:"reviews"`
	Batches int `json:"batches"`
}

// ScrapeFinish is the outcome the workflow records.
type ScrapeFinish struct {
	TaskID string `json:"task_id"`
	// Status is COMPLETED, FAILED or CANCELLED.
	Status store.ScrapeStatus `json:"status"`
	// FailureReason is a publisher.FailureReason; set when Status is FAILED.
	FailureReason publisher.FailureReason `json:"failure_reason,omitempty"`
	// FailureDetail says what happened, in words, for operators.
	FailureDetail string `json:"failure_detail,omitempty"`
}

// ScrapeOutcome is the job as recorded, with what its DATA_RESULT event says.
type ScrapeOutcome struct {
	TaskID             uuid.UUID          `json:"task_id"`
	RequestID          string             `json:"request_id"`
	Integrator         string             `json:"integrator"`
	ForeignKey         string             `json:"foreign_key"`
	ExternalLocationID string             `json:"external_location_id"`
	PublisherKey       string             `json:"publisher_key"`
	Status             store.ScrapeStatus `json:"status"`
	FailureReason      string             `json:"failure_reason,omitempty"`
	ReviewCount        int                `json:"review_count"`
	// Batches are the job's batch files in order (URL and review count).
	Batches []ScrapeBatchRef `json:"batches"`
}

// ScrapeBatchRef is one batch file as the outcome lists it.
type ScrapeBatchRef struct {
	URL         string `json:"url"`
	ReviewCount int    `json:"review_count"`
}

// StartScrape moves the job to IN_PROGRESS (from PENDING_SCRAPE, QUEUED or
// IN_PROGRESS, so a retry is harmless) and returns what the workflow needs.
// A terminal job is returned as it is, for the workflow to end without work.
//
// Errors: non-retryable ErrTypeScrapeJobNotFound when there is no such job,
// ErrTypeScrapeJobNotAdmitted when it is still BUFFERED, ErrTypeBadInput for
// a malformed task ID; database errors are retried.
func (a *ScrapeActivities) StartScrape(ctx context.Context, in ScrapeTask) (ScrapeStart, error) {
	id, err := parseTaskID(in.TaskID)
	if err != nil {
		return ScrapeStart{}, err
	}
	job, err := store.StartScrapeJob(ctx, a.Store.DB, id)
	if err != nil {
		return ScrapeStart{}, jobError(id, err)
	}
	if job.Status == store.ScrapeBuffered {
		return ScrapeStart{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("scrape job %s is BUFFERED: admission has not claimed it", id), ErrTypeScrapeJobNotAdmitted, nil)
	}
	return ScrapeStart{Status: job.Status, PublisherKey: job.PublisherKey, BrowserBacked: job.BrowserBacked}, nil
}

// ScrapeReviews scrapes the job's publisher page and writes the reviews to S3
// in batches of BatchSize, as JSON lines at ScrapeBatchKey, each with a
// scrape_result_batches row. Every attempt starts from scratch and rewrites
// the same keys and rows; batches an earlier, longer attempt left past the
// last one are deleted, so a job ends with exactly its batches. It heartbeats
// its progress after every page.
//
// Errors: a publisher failure is an application error whose type is its
// publisher.FailureReason, non-retryable unless the reason is retryable, in
// which case the publisher's Retry-After (capped at MaxRetryAfter) becomes
// the next retry delay. ErrTypeNoDriver and ErrTypeScrapeJobNotFound are
// non-retryable; storage errors are retried.
func (a *ScrapeActivities) ScrapeReviews(ctx context.Context, in ScrapeTask) (ScrapeProgress, error) {
	id, err := parseTaskID(in.TaskID)
	if err != nil {
		return ScrapeProgress{}, err
	}
	job, err := store.GetScrapeJob(ctx, a.Store.DB, id)
	if err != nil {
		return ScrapeProgress{}, jobError(id, err)
	}
	driver, err := a.driverFor(job.PublisherKey)
	if err != nil {
		return ScrapeProgress{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNoDriver, err)
	}
	w := &batchWriter{ctx: ctx, a: a, job: job, size: a.batchSize()}
	activity.RecordHeartbeat(ctx, w.progress)
	if err := driver.Scrape(ctx, scrapeRequest(job), w.page); err != nil {
		return w.progress, scrapeError(job, err)
	}
	if err := w.close(); err != nil {
		return w.progress, err
	}
	return w.progress, nil
}

// FinishScrape records the outcome: COMPLETED, FAILED (with the reason and
// detail) or CANCELLED, with finished_at and review_count (the sum of the
// stored batches). A job already terminal keeps its status, so a retry is
// harmless; the outcome always describes the row as stored.
//
// Errors: non-retryable ErrTypeBadInput for a non-terminal status or a
// FAILED without a valid reason, ErrTypeScrapeJobNotFound when the job is
// gone; database errors are retried.
func (a *ScrapeActivities) FinishScrape(ctx context.Context, in ScrapeFinish) (ScrapeOutcome, error) {
	id, err := parseTaskID(in.TaskID)
	if err != nil {
		return ScrapeOutcome{}, err
	}
	if !in.Status.Terminal() || (in.Status == store.ScrapeFailed && !in.FailureReason.Valid()) {
		return ScrapeOutcome{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("finish scrape job %s: status %q with reason %q", id, in.Status, in.FailureReason), ErrTypeBadInput, nil)
	}
	var out ScrapeOutcome
	err = a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		job, err := store.FinishScrapeJob(ctx, tx, id, in.Status, string(in.FailureReason), truncate(in.FailureDetail, 2000))
		if err != nil {
			return err
		}
		out, err = outcome(ctx, tx, job)
		return err
	})
	if err != nil {
		return ScrapeOutcome{}, jobError(id, err)
	}
	return out, nil
}

// outcome describes job as stored, batches included.
func outcome(ctx context.Context, db bun.IDB, job *store.ScrapeJob) (ScrapeOutcome, error) {
	ext, err := store.LocationExternalID(ctx, db, job.LocationID)
	if err != nil {
		return ScrapeOutcome{}, err
	}
	batches, err := store.ScrapeBatchesAfter(ctx, db, job.TaskID, 0)
	if err != nil {
		return ScrapeOutcome{}, err
	}
	refs := make([]ScrapeBatchRef, len(batches))
	for i, b := range batches {
		refs[i] = ScrapeBatchRef{URL: b.URL, ReviewCount: b.ReviewCount}
	}
	return ScrapeOutcome{
		TaskID: job.TaskID, RequestID: job.RequestID, Integrator: job.Integrator,
		ForeignKey: job.ForeignKey, ExternalLocationID: ext, PublisherKey: job.PublisherKey,
		Status: job.Status, FailureReason: job.FailureReason, ReviewCount: job.ReviewCount, Batches: refs,
	}, nil
}

func (a *ScrapeActivities) batchSize() int {
	if a.BatchSize > 0 {
		return a.BatchSize
	}
	return DefaultBatchSize
}

// driverFor returns the publisher's own driver, else the generic JSON-LD one.
func (a *ScrapeActivities) driverFor(publisherKey string) (publisher.Driver, error) {
	if d, err := a.Drivers.Get(publisherKey); err == nil {
		return d, nil
	}
	return a.Drivers.Get(publisher.DriverJSONLD)
}

func scrapeRequest(job *store.ScrapeJob) publisher.ScrapeRequest {
	req := publisher.ScrapeRequest{URL: job.URL}
	if job.FromDate != nil {
		req.FromDate = *job.FromDate
	}
	if job.MaxReviews != nil {
		req.MaxReviews = *job.MaxReviews
	}
	return req
}

// scrapeError turns a driver's error into the application error the
// workflow's retry policy acts on (see ScrapeReviews).
func scrapeError(job *store.ScrapeJob, err error) error {
	pe, ok := errors.AsType[*publisher.Error](err)
	if !ok {
		// The batch writer's storage errors, or cancellation: retry.
		return err
	}
	msg := fmt.Sprintf("scrape %s", job.URL)
	if !pe.Retryable {
		return temporal.NewNonRetryableApplicationError(msg, string(pe.Reason), err)
	}
	return temporal.NewApplicationErrorWithOptions(msg, string(pe.Reason), temporal.ApplicationErrorOptions{
		Cause:          err,
		NextRetryDelay: min(pe.RetryAfter, MaxRetryAfter),
	})
}

// batchWriter cuts the driver's pages into batch files as they arrive, so a
// scrape holds at most one batch of reviews in memory.
type batchWriter struct {
	// ctx is the activity's: the driver's emit callback takes no context,
	// and the writes and heartbeats it triggers belong to the activity.
	ctx      context.Context
	a        *ScrapeActivities
	job      *store.ScrapeJob
	size     int
	pending  []publisher.Review
	progress ScrapeProgress
}

// page is the driver's emit callback.
func (w *batchWriter) page(p publisher.Page) error {
	w.progress.Pages++
	w.pending = append(w.pending, p.Reviews...)
	for len(w.pending) >= w.size {
		if err := w.flush(w.pending[:w.size]); err != nil {
			return err
		}
		w.pending = w.pending[w.size:]
	}
	activity.RecordHeartbeat(w.ctx, w.progress)
	return nil
}

// close writes the last, partial batch and deletes batches an earlier
// attempt left past it.
func (w *batchWriter) close() error {
	if len(w.pending) > 0 {
		if err := w.flush(w.pending); err != nil {
			return err
		}
		w.pending = nil
	}
	return w.pruneAfter(w.progress.Batches)
}

// flush writes reviews as the next batch: object first, then its row, so a
// row never points at an object that was not written.
func (w *batchWriter) flush(reviews []publisher.Review) error {
	ctx := w.ctx
	body, err := encodeBatch(reviews)
	if err != nil {
		return err
	}
	n := w.progress.Batches + 1
	key := store.ScrapeBatchKey(w.job.RequestID, w.job.TaskID, n)
	if err := w.a.Blob.Put(ctx, key, body, BatchContentType); err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	err = store.UpsertScrapeBatch(ctx, w.a.Store.DB, &store.ScrapeResultBatch{
		TaskID: w.job.TaskID, BatchNumber: n, S3Key: key, URL: w.a.Blob.URL(key),
		ReviewCount: len(reviews), SHA256: hex.EncodeToString(sum[:]),
	})
	if err != nil {
		return err
	}
	w.progress.Batches = n
	w.progress.Reviews += len(reviews)
	return nil
}

// pruneAfter deletes the objects, then the rows, of batches numbered above
// n: a failure in between leaves rows to find on the next attempt, never an
// object nobody points at.
func (w *batchWriter) pruneAfter(n int) error {
	ctx := w.ctx
	stale, err := store.ScrapeBatchesAfter(ctx, w.a.Store.DB, w.job.TaskID, n)
	if err != nil || len(stale) == 0 {
		return err
	}
	for _, b := range stale {
		if err := w.a.Blob.Delete(ctx, b.S3Key); err != nil {
			return err
		}
	}
	_, err = store.DeleteScrapeBatchesAfter(ctx, w.a.Store.DB, w.job.TaskID, n)
	return err
}

// encodeBatch renders reviews as JSON lines, one Review (the documented
// review schema) per line.
func encodeBatch(reviews []publisher.Review) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Review text is data, not HTML: keep <, > and & readable.
	enc.SetEscapeHTML(false)
	for i := range reviews {
		if err := enc.Encode(&reviews[i]); err != nil {
			return nil, fmt.Errorf("encode review %s: %w", reviews[i].ReviewID, err)
		}
	}
	return buf.Bytes(), nil
}

func parseTaskID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("task ID %q is not a UUID", s), ErrTypeBadInput, err)
	}
	return id, nil
}

// jobError makes a missing job non-retryable; other errors retry.
func jobError(id uuid.UUID, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("scrape job %s not found", id), ErrTypeScrapeJobNotFound, err)
	}
	return err
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
