package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// This file holds the scrape workflow's side of scrape_jobs (IN_PROGRESS and
// the terminal transition) and the review batches it writes. Admission's side
// (BUFFERED -> PENDING_SCRAPE -> QUEUED) is in admission.go.

// startableStatuses may move to IN_PROGRESS. Admission starts the workflow
// before it marks the row QUEUED, so PENDING_SCRAPE must be accepted too, and
// IN_PROGRESS makes a retried start a no-op.
var startableStatuses = []ScrapeStatus{ScrapePendingScrape, ScrapeQueued, ScrapeInProgress}

// ScrapeBatchKey is the S3 key of batch n (1-based) of a job:
// {request_id}/{task_id}-batch-{n}.jl. It is deterministic so that a retried
// scrape overwrites the objects an earlier attempt wrote instead of adding
// new ones.
func ScrapeBatchKey(requestID string, taskID uuid.UUID, n int) string {
	return fmt.Sprintf("%s/%s-batch-%d.jl", requestID, taskID, n)
}

// StartScrapeJob moves the job from PENDING_SCRAPE, QUEUED or IN_PROGRESS to
// IN_PROGRESS, setting started_at the first time, and returns the row. A job
// in any other status (BUFFERED, or terminal) is returned unchanged: the
// caller decides what that means. It returns an error wrapping ErrNotFound
// when there is no such job.
func StartScrapeJob(ctx context.Context, db bun.IDB, taskID uuid.UUID) (*ScrapeJob, error) {
	var jobs []ScrapeJob
	_, err := db.NewUpdate().Model(&jobs).
		Set("status = ?", ScrapeInProgress).
		Set("started_at = COALESCE(started_at, now())").Set("updated_at = now()").
		Where("task_id = ?", taskID).Where("status IN (?)", bun.In(startableStatuses)).
		Returning("*").Exec(ctx)
	if err != nil {
		return nil, interpretError(fmt.Errorf("start scrape job %s: %w", taskID, err))
	}
	if len(jobs) == 1 {
		return &jobs[0], nil
	}
	return GetScrapeJob(ctx, db, taskID)
}

// FinishScrapeJob moves a job that is not yet terminal to status (COMPLETED,
// FAILED or CANCELLED) with finished_at now and review_count the sum of its
// stored batches, recording reason and detail (empty for none), and returns
// the row. A job already terminal is returned unchanged, so a retried finish
// is a no-op and a job cancelled meanwhile stays cancelled.
//
// It returns an error wrapping ErrInvalid for a status that is not terminal
// or a FAILED status without a reason, and ErrNotFound when there is no such
// job.
func FinishScrapeJob(ctx context.Context, db bun.IDB, taskID uuid.UUID, status ScrapeStatus, reason, detail string) (*ScrapeJob, error) {
	if !status.Terminal() {
		return nil, fmt.Errorf("%w: finish scrape job %s: %s is not a terminal status", ErrInvalid, taskID, status)
	}
	var jobs []ScrapeJob
	_, err := db.NewUpdate().Model(&jobs).
		Set("status = ?", status).
		Set("failure_reason = NULLIF(?, '')", reason).Set("failure_detail = NULLIF(?, '')", detail).
		Set("review_count = (SELECT COALESCE(sum(b.review_count), 0) FROM scrape_result_batches b WHERE b.task_id = ?)", taskID).
		Set("finished_at = now()").Set("updated_at = now()").
		Where("task_id = ?", taskID).Where("status NOT IN (?)", bun.In([]ScrapeStatus{ScrapeCompleted, ScrapeFailed, ScrapeCancelled})).
		Returning("*").Exec(ctx)
	if err != nil {
		return nil, interpretError(fmt.Errorf("finish scrape job %s: %w", taskID, err))
	}
	if len(jobs) == 1 {
		return &jobs[0], nil
	}
	return GetScrapeJob(ctx, db, taskID)
}

// UpsertScrapeBatch stores batch, replacing the row of the same (task_id,
// batch_number): a retried scrape rewrites its batches rather than adding
// rows. It returns an error wrapping ErrInvalid when the job does not exist
// or a value breaks a constraint (batch_number < 1, review_count < 0).
func UpsertScrapeBatch(ctx context.Context, db bun.IDB, batch *ScrapeResultBatch) error {
	_, err := db.NewInsert().Model(batch).
		On("CONFLICT (task_id, batch_number) DO UPDATE").
		Set("s3_key = EXCLUDED.s3_key").Set("url = EXCLUDED.url").
		Set("review_count = EXCLUDED.review_count").Set("sha256 = EXCLUDED.sha256").
		Returning("*").Exec(ctx)
	if err != nil {
		return interpretError(fmt.Errorf("upsert scrape batch %s/%d: %w", batch.TaskID, batch.BatchNumber, err))
	}
	return nil
}

// ScrapeBatchesAfter returns every batch of taskID numbered above after, in
// order: the leftovers of an earlier, longer attempt once a retry wrote only
// after batches.
func ScrapeBatchesAfter(ctx context.Context, db bun.IDB, taskID uuid.UUID, after int) ([]ScrapeResultBatch, error) {
	var batches []ScrapeResultBatch
	err := db.NewSelect().Model(&batches).
		Where("task_id = ?", taskID).Where("batch_number > ?", after).
		OrderExpr("batch_number").Scan(ctx)
	if err != nil {
		return nil, interpretError(fmt.Errorf("scrape batches after %d: %w", after, err))
	}
	return batches, nil
}

// DeleteScrapeBatchesAfter deletes every batch row of taskID numbered above
// after and returns how many it deleted.
func DeleteScrapeBatchesAfter(ctx context.Context, db bun.IDB, taskID uuid.UUID, after int) (int, error) {
	res, err := db.NewDelete().Model((*ScrapeResultBatch)(nil)).
		Where("task_id = ?", taskID).Where("batch_number > ?", after).Exec(ctx)
	if err != nil {
		return 0, interpretError(fmt.Errorf("delete scrape batches after %d: %w", after, err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// LocationExternalID returns the integrator's external_location_id of the
// location with id. It returns an error wrapping ErrNotFound when there is
// none.
func LocationExternalID(ctx context.Context, db bun.IDB, id uuid.UUID) (string, error) {
	var ext string
	err := db.NewSelect().Model((*Location)(nil)).Column("external_location_id").
		Where("id = ?", id).Scan(ctx, &ext)
	if err != nil {
		return "", interpretError(fmt.Errorf("location %s: %w", id, err))
	}
	return ext, nil
}
