package workflows

import (
	"encoding/json"
	"errors"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/publisher"
	"github.com/reviewdata/rd/internal/temporalx"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/store"
)

// ScrapeWorkflowName is ScrapeWorkflow's registered name, "ScrapeWorkflow".
// It is wire API: admission's activity starts workflows by this name, from
// the activities package, which cannot import this one.
const ScrapeWorkflowName = activities.ScrapeWorkflowName

// ScrapeInput names the job; everything else is read from its row. Its JSON
// shape is activities.ScrapeStartInput's, which admission sends.
type ScrapeInput struct {
	TaskID string `json:"task_id"`
}

// ScrapeResult is how the job ended.
type ScrapeResult struct {
	TaskID string `json:"task_id"`
	// Status is the job's final status: COMPLETED, FAILED or CANCELLED.
	Status store.ScrapeStatus `json:"status"`
	// FailureReason is a publisher.FailureReason when Status is FAILED.
	FailureReason string `json:"failure_reason,omitempty"`
	ReviewCount   int    `json:"review_count"`
	Batches       int    `json:"batches"`
	// Skipped is true when the job was already terminal at start, so the
	// workflow did nothing.
	Skipped bool `json:"skipped,omitempty"`
}

// ScrapeWorkflowID is the workflow ID of a scrape job: "scrape-" + task ID.
// Admission starts it with this ID, so a job never has two executions.
func ScrapeWorkflowID(taskID string) string { return "scrape-" + taskID }

// Activity options of a scrape. The scrape activity's attempts are bounded:
// when they run out the job is FAILED with the last attempt's reason. The
// bookkeeping activities (start, finish) only touch PostgreSQL and retry
// until it answers, for up to a day: a finish that never lands would hold an
// admission slot forever.
const (
	scrapeStartToClose    = 15 * time.Minute
	scrapeHeartbeat       = 2 * time.Minute
	scrapeMaxAttempts     = 5
	scrapeInitialInterval = 5 * time.Second
	scrapeMaxInterval     = 2 * time.Minute
	bookkeepingTimeout    = 30 * time.Second
	bookkeepingGiveUp     = 24 * time.Hour
)

// ScrapeWorkflow scrapes one job: it moves the row to IN_PROGRESS, runs the
// publisher's driver into review batches in S3 (on scraping-browser for a
// browser-backed publisher, else on the workflow's own queue), records
// COMPLETED or FAILED with a publisher.FailureReason, rings the admission
// doorbell so the freed slot is reused at once, and emits DATA_RESULT
// through the shared EmitWebhook activity (on the webhook-delivery queue).
//
// A publisher failure is an outcome, not a workflow failure: the workflow
// completes with Status FAILED. It returns an error only when the job cannot
// be worked on at all (no such row, still BUFFERED) or its outcome cannot be
// recorded. A job already terminal at start ends the workflow without work.
func ScrapeWorkflow(ctx workflow.Context, in ScrapeInput) (ScrapeResult, error) {
	s := &scrape{in: in, logger: workflow.GetLogger(ctx)}
	return s.run(ctx)
}

type scrape struct {
	in     ScrapeInput
	logger log.Logger
}

func (s *scrape) run(ctx workflow.Context) (ScrapeResult, error) {
	start, err := s.start(ctx)
	switch {
	case temporal.IsCanceledError(err):
		return s.end(ctx, activities.ScrapeFinish{TaskID: s.in.TaskID, Status: store.ScrapeCancelled})
	case err != nil:
		return ScrapeResult{TaskID: s.in.TaskID}, err
	case start.Status.Terminal():
		return ScrapeResult{TaskID: s.in.TaskID, Status: start.Status, Skipped: true}, nil
	}
	s.setStatus(ctx, store.ScrapeInProgress)
	return s.end(ctx, s.scrape(ctx, start))
}

// end records the outcome, rings the doorbell and emits DATA_RESULT. It runs
// on a disconnected context so that a cancelled workflow still records
// CANCELLED and frees its admission slot.
func (s *scrape) end(ctx workflow.Context, finish activities.ScrapeFinish) (ScrapeResult, error) {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	out, err := s.finish(ctx, finish)
	if err != nil {
		return ScrapeResult{TaskID: s.in.TaskID, Status: finish.Status}, err
	}
	s.setStatus(ctx, out.Status)
	// The row is terminal, so the job's admission slot is free now: ring
	// before emitting, which waits on the webhook-delivery queue.
	s.ringDoorbell(ctx)
	return resultOf(out), s.emitWebhook(ctx, out)
}

func (s *scrape) start(ctx workflow.Context) (activities.ScrapeStart, error) {
	var a *activities.ScrapeActivities
	var start activities.ScrapeStart
	err := workflow.ExecuteActivity(bookkeeping(ctx), a.StartScrape, activities.ScrapeTask{TaskID: s.in.TaskID}).Get(ctx, &start)
	return start, err
}

// scrape runs the scrape activity and turns its outcome into what finish
// records: COMPLETED, FAILED with a reason, or CANCELLED if the workflow was.
func (s *scrape) scrape(ctx workflow.Context, start activities.ScrapeStart) activities.ScrapeFinish {
	var a *activities.ScrapeActivities
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: scrapeStartToClose,
		HeartbeatTimeout:    scrapeHeartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    scrapeInitialInterval,
			BackoffCoefficient: 2,
			MaximumInterval:    scrapeMaxInterval,
			MaximumAttempts:    scrapeMaxAttempts,
		},
	}
	if start.BrowserBacked {
		// Activity routing: browsers are a scarce, separately capped pool.
		opts.TaskQueue = temporalx.QueueScrapingBrowser
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.ScrapeReviews,
		activities.ScrapeTask{TaskID: s.in.TaskID}).Get(ctx, nil)
	switch {
	case err == nil:
		return activities.ScrapeFinish{TaskID: s.in.TaskID, Status: store.ScrapeCompleted}
	case temporal.IsCanceledError(err):
		return activities.ScrapeFinish{TaskID: s.in.TaskID, Status: store.ScrapeCancelled}
	default:
		reason, detail := failureOf(err)
		s.logger.Warn("scrape failed", "task_id", s.in.TaskID, "reason", reason, "error", err)
		return activities.ScrapeFinish{TaskID: s.in.TaskID, Status: store.ScrapeFailed, FailureReason: reason, FailureDetail: detail}
	}
}

// finish records the outcome on the job row.
func (s *scrape) finish(ctx workflow.Context, in activities.ScrapeFinish) (activities.ScrapeOutcome, error) {
	var a *activities.ScrapeActivities
	var out activities.ScrapeOutcome
	err := workflow.ExecuteActivity(bookkeeping(ctx), a.FinishScrape, in).Get(ctx, &out)
	return out, err
}

// emitWebhook emits DATA_RESULT through the shared EmitWebhook activity,
// which stores the event once per task and starts its deliveries. The
// payload carries batch URLs and counts, never reviews.
func (s *scrape) emitWebhook(ctx workflow.Context, out activities.ScrapeOutcome) error {
	data, err := json.Marshal(dataResult(out))
	if err != nil {
		return err
	}
	_, err = EmitWebhook(ctx, activities.EmitWebhookInput{
		Integrator: out.Integrator, EventType: webhook.EventDataResult,
		SubjectID: out.TaskID.String(), RequestID: out.RequestID, Data: data,
	})
	return err
}

// dataResult is the DATA_RESULT payload of a recorded outcome.
func dataResult(out activities.ScrapeOutcome) webhook.DataResult {
	batches := make([]webhook.ReviewBatch, len(out.Batches))
	for i, b := range out.Batches {
		batches[i] = webhook.ReviewBatch{URL: b.URL, ReviewCount: b.ReviewCount}
	}
	return webhook.DataResult{
		Job: webhook.Job{
			TaskID: out.TaskID, ForeignKey: out.ForeignKey,
			ExternalLocationID: out.ExternalLocationID, PublisherKey: out.PublisherKey,
		},
		Status: string(out.Status), FailureReason: out.FailureReason,
		ReviewCount: out.ReviewCount, Batches: batches,
	}
}

// ringDoorbell wakes the scrape admission lane: this job's slot is free. A
// lane that is not running (not found) is fine; admission ticks anyway.
func (s *scrape) ringDoorbell(ctx workflow.Context) {
	err := workflow.SignalExternalWorkflow(ctx, AdmissionWorkflowID(LaneScrape), "", AdmissionDoorbellSignal, nil).Get(ctx, nil)
	if _, notFound := errors.AsType[*temporal.UnknownExternalWorkflowExecutionError](err); err != nil && !notFound {
		s.logger.Warn("ring admission doorbell", "task_id", s.in.TaskID, "error", err)
	}
}

// setStatus mirrors the job status into the RdStatus search attribute, so
// operators can list scrapes by status in Temporal Web.
func (s *scrape) setStatus(ctx workflow.Context, status store.ScrapeStatus) {
	err := workflow.UpsertTypedSearchAttributes(ctx, temporal.NewSearchAttributeKeyKeyword(temporalx.AttrStatus).ValueSet(string(status)))
	if err != nil {
		s.logger.Warn("upsert RdStatus", "task_id", s.in.TaskID, "error", err)
	}
}

// bookkeeping gives ctx the options of the database-only activities.
func bookkeeping(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    bookkeepingTimeout,
		ScheduleToCloseTimeout: bookkeepingGiveUp,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
}

// failureOf maps the scrape activity's final error to the job's failure
// reason and a detail for operators: a timeout is TIMEOUT; an application
// error whose type is a FailureReason is that reason (also after the last
// retry); anything else is UNKNOWN.
func failureOf(err error) (publisher.FailureReason, string) {
	if timeout, ok := errors.AsType[*temporal.TimeoutError](err); ok {
		return publisher.ReasonTimeout, "activity " + timeout.TimeoutType().String() + " timeout"
	}
	app, ok := errors.AsType[*temporal.ApplicationError](err)
	if !ok {
		return publisher.ReasonUnknown, err.Error()
	}
	detail := app.Message()
	if cause, ok := errors.AsType[*temporal.ApplicationError](app.Unwrap()); ok {
		detail += ": " + cause.Message()
	}
	if reason := publisher.FailureReason(app.Type()); reason.Valid() {
		return reason, detail
	}
	return publisher.ReasonUnknown, detail
}

func resultOf(out activities.ScrapeOutcome) ScrapeResult {
	return ScrapeResult{
		TaskID: out.TaskID.String(), Status: out.Status, FailureReason: out.FailureReason,
		ReviewCount: out.ReviewCount, Batches: len(out.Batches),
	}
}
