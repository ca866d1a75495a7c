package workflows_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/publisher"
	"github.com/reviewdata/rd/internal/temporalx"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/store"
	"github.com/reviewdata/rd/workflows"
)

const scrapeTaskID = "01900000-0000-7000-8000-0000000000aa"

// scrapeBundle is a test environment with the scrape activities mocked: the
// finish mock echoes what the workflow asked to record, and every scrape
// attempt is logged with its task queue and workflow time.
type scrapeBundle struct {
	env *testsuite.TestWorkflowEnvironment

	mu        sync.Mutex
	attempts  []attempt
	finished  []activities.ScrapeFinish
	doorbells int
	emitted   []activities.EmitWebhookInput
	emitQueue string
}

type attempt struct {
	queue string
	at    time.Time
}

var (
	sa  *activities.ScrapeActivities
	wha *activities.WebhookActivities
)

// newScrapeEnv registers the workflow and the (unmocked) activities; an
// activity called without a mock panics on the nil receiver, failing the test.
func newScrapeEnv(t *testing.T) *scrapeBundle {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	b := &scrapeBundle{env: suite.NewTestWorkflowEnvironment()}
	b.env.RegisterWorkflowWithOptions(workflows.ScrapeWorkflow, workflow.RegisterOptions{Name: workflows.ScrapeWorkflowName})
	b.env.RegisterActivity(sa)
	b.env.RegisterActivity(wha)
	t.Cleanup(func() { b.env.AssertExpectations(t) })
	return b
}

func setupScrape(t *testing.T, start activities.ScrapeStart) *scrapeBundle {
	t.Helper()
	b := newScrapeEnv(t)
	b.env.OnActivity(sa.StartScrape, mock.Anything, activities.ScrapeTask{TaskID: scrapeTaskID}).Return(start, nil)
	b.env.OnActivity(sa.FinishScrape, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ScrapeFinish) (activities.ScrapeOutcome, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.finished = append(b.finished, in)
			return activities.ScrapeOutcome{
				TaskID: uuid.MustParse(in.TaskID), RequestID: "req-1", Integrator: "rm", ForeignKey: "fk-1",
				ExternalLocationID: "loc-1", PublisherKey: "sandbox", Status: in.Status, FailureReason: string(in.FailureReason), ReviewCount: 120,
				Batches: []activities.ScrapeBatchRef{{URL: "u1", ReviewCount: 100}, {URL: "u2", ReviewCount: 20}},
			}, nil
		})
	b.env.OnSignalExternalWorkflow(mock.Anything, workflows.AdmissionWorkflowID(workflows.LaneScrape), "",
		workflows.AdmissionDoorbellSignal, mock.Anything).Run(func(mock.Arguments) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.doorbells++
	}).Return(nil)
	b.env.OnActivity(wha.EmitWebhook, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.EmitWebhookInput) (activities.EmitWebhookResult, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.emitted = append(b.emitted, in)
			b.emitQueue = activity.GetInfo(ctx).TaskQueue
			return activities.EmitWebhookResult{Created: true}, nil
		})
	return b
}

// onScrape mocks the scrape activity: results[i] is attempt i+1's error
// (nil for success); the last one repeats.
func (b *scrapeBundle) onScrape(results ...error) {
	b.env.OnActivity(sa.ScrapeReviews, mock.Anything, activities.ScrapeTask{TaskID: scrapeTaskID}).Return(
		func(ctx context.Context, _ activities.ScrapeTask) (activities.ScrapeProgress, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.attempts = append(b.attempts, attempt{queue: activity.GetInfo(ctx).TaskQueue, at: b.env.Now()})
			err := results[min(len(b.attempts), len(results))-1]
			return activities.ScrapeProgress{Pages: 6, Reviews: 120, Batches: 2}, err
		})
}

func (b *scrapeBundle) run(t *testing.T) workflows.ScrapeResult {
	t.Helper()
	b.env.ExecuteWorkflow(workflows.ScrapeWorkflowName, workflows.ScrapeInput{TaskID: scrapeTaskID})
	require.True(t, b.env.IsWorkflowCompleted())
	require.NoError(t, b.env.GetWorkflowError())
	var res workflows.ScrapeResult
	require.NoError(t, b.env.GetWorkflowResult(&res))
	return res
}

// event returns the one DATA_RESULT the workflow emitted, decoded.
func (b *scrapeBundle) event(t *testing.T) webhook.DataResult {
	t.Helper()
	require.Len(t, b.emitted, 1)
	in := b.emitted[0]
	require.Equal(t, webhook.EventDataResult, in.EventType)
	require.Equal(t, "rm", in.Integrator)
	require.Equal(t, scrapeTaskID, in.SubjectID)
	require.Equal(t, "req-1", in.RequestID)
	var data webhook.DataResult
	require.NoError(t, json.Unmarshal(in.Data, &data))
	return data
}

// finish returns the one outcome the workflow recorded.
func (b *scrapeBundle) finish(t *testing.T) activities.ScrapeFinish {
	t.Helper()
	require.Len(t, b.finished, 1)
	return b.finished[0]
}

var httpStart = activities.ScrapeStart{Status: store.ScrapeInProgress, PublisherKey: "sandbox"}

func TestScrapeWorkflowHappyPath(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, httpStart)
	b.onScrape(nil)

	res := b.run(t)
	require.Equal(t, workflows.ScrapeResult{TaskID: scrapeTaskID, Status: store.ScrapeCompleted, ReviewCount: 120, Batches: 2}, res)
	require.Equal(t, activities.ScrapeFinish{TaskID: scrapeTaskID, Status: store.ScrapeCompleted}, b.finish(t))
	require.Len(t, b.attempts, 1)
	require.Equal(t, "default-test-taskqueue", b.attempts[0].queue, "an HTTP publisher scrapes on the workflow's own queue")
	require.Equal(t, 1, b.doorbells, "the admission doorbell rings once")
	require.Equal(t, webhook.DataResult{
		Job:    webhook.Job{TaskID: uuid.MustParse(scrapeTaskID), ForeignKey: "fk-1", ExternalLocationID: "loc-1", PublisherKey: "sandbox"},
		Status: "COMPLETED", ReviewCount: 120,
		Batches: []webhook.ReviewBatch{{URL: "u1", ReviewCount: 100}, {URL: "u2", ReviewCount: 20}},
	}, b.event(t))
	require.Equal(t, temporalx.QueueWebhookDelivery, b.emitQueue)
}

// A retryable publisher error retries after the delay the publisher asked
// for (NextRetryDelay), not the policy's, and the retry's success completes
// the job.
func TestScrapeWorkflowRetriesARetryableErrorAfterItsDelay(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, httpStart)
	b.onScrape(temporal.NewApplicationErrorWithOptions("scrape", string(publisher.ReasonRateLimited),
		temporal.ApplicationErrorOptions{NextRetryDelay: 42 * time.Second}), nil)

	res := b.run(t)
	require.Equal(t, store.ScrapeCompleted, res.Status)
	require.Len(t, b.attempts, 2)
	require.Equal(t, 42*time.Second, b.attempts[1].at.Sub(b.attempts[0].at))
	require.Equal(t, store.ScrapeCompleted, b.finish(t).Status)
}

// A non-retryable publisher error is not retried: the job is FAILED with
// the error's type as its reason, and the workflow itself completes.
func TestScrapeWorkflowNonRetryableErrorFailsTheJob(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, httpStart)
	cause := publisher.Errorf(publisher.ReasonBlocked, "status 403 Forbidden")
	b.onScrape(temporal.NewNonRetryableApplicationError("scrape http://x/biz/blocked-a", string(publisher.ReasonBlocked), cause))

	res := b.run(t)
	require.Equal(t, store.ScrapeFailed, res.Status)
	require.Equal(t, string(publisher.ReasonBlocked), res.FailureReason)
	require.Len(t, b.attempts, 1)
	fin := b.finish(t)
	require.Equal(t, store.ScrapeFailed, fin.Status)
	require.Equal(t, publisher.ReasonBlocked, fin.FailureReason)
	require.Contains(t, fin.FailureDetail, "scrape http://x/biz/blocked-a")
	require.Contains(t, fin.FailureDetail, "status 403 Forbidden")
	require.Equal(t, 1, b.doorbells, "the admission doorbell rings once")
	ev := b.event(t)
	require.Equal(t, "FAILED", ev.Status)
	require.Equal(t, "BLOCKED", ev.FailureReason)
}

// When every attempt fails retryably, the attempts are bounded and the job
// is FAILED with the last attempt's reason; an error of no known reason
// (storage) is UNKNOWN.
func TestScrapeWorkflowRetriesExhausted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		errType string
		want    publisher.FailureReason
	}{
		{string(publisher.ReasonPublisherUnavailable), publisher.ReasonPublisherUnavailable},
		{"wrapError", publisher.ReasonUnknown},
	} {
		t.Run(tc.errType, func(t *testing.T) {
			t.Parallel()
			b := setupScrape(t, httpStart)
			b.onScrape(temporal.NewApplicationError("boom", tc.errType))

			res := b.run(t)
			require.Equal(t, store.ScrapeFailed, res.Status)
			require.Len(t, b.attempts, 5, "attempts are bounded")
			require.Equal(t, tc.want, b.finish(t).FailureReason)
		})
	}
}

// Attempts that keep timing out end the job FAILED with TIMEOUT. The test
// environment measures activity timeouts on the wall clock, so the mock
// fails each attempt with the timeout error the server reports instead of
// sleeping through 15 minutes.
func TestScrapeWorkflowTimeoutFailsWithTimeout(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, httpStart)
	b.onScrape(temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil))

	res := b.run(t)
	require.Equal(t, store.ScrapeFailed, res.Status)
	fin := b.finish(t)
	require.Equal(t, publisher.ReasonTimeout, fin.FailureReason)
	require.Contains(t, fin.FailureDetail, "timeout")
	require.Len(t, b.attempts, 5, "a timed-out attempt is retried like any other")
}

// A browser-backed publisher's scrape activity is routed to the
// scraping-browser queue.
func TestScrapeWorkflowRoutesBrowserBackedScrapes(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, activities.ScrapeStart{Status: store.ScrapeInProgress, PublisherKey: "gbp", BrowserBacked: true})
	b.onScrape(nil)

	require.Equal(t, store.ScrapeCompleted, b.run(t).Status)
	require.Len(t, b.attempts, 1)
	require.Equal(t, temporalx.QueueScrapingBrowser, b.attempts[0].queue)
}

// A job already terminal when the workflow starts (finished by an earlier
// run, or cancelled) ends the workflow without scraping, recording or
// ringing anything.
func TestScrapeWorkflowTerminalRowDoesNoWork(t *testing.T) {
	t.Parallel()
	b := newScrapeEnv(t)
	b.env.OnActivity(sa.StartScrape, mock.Anything, mock.Anything).Return(
		activities.ScrapeStart{Status: store.ScrapeCompleted, PublisherKey: "sandbox"}, nil)

	res := b.run(t)
	require.Equal(t, workflows.ScrapeResult{TaskID: scrapeTaskID, Status: store.ScrapeCompleted, Skipped: true}, res)
	b.env.AssertActivityNotCalled(t, "ScrapeReviews", mock.Anything, mock.Anything)
	b.env.AssertActivityNotCalled(t, "FinishScrape", mock.Anything, mock.Anything)
	require.Empty(t, b.attempts)
	require.Zero(t, b.doorbells)
	require.Empty(t, b.emitted)
}

// Cancelling the workflow mid-scrape still records CANCELLED (and frees
// the admission slot).
func TestScrapeWorkflowCancelledRecordsCancelled(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, httpStart)
	b.env.OnActivity(sa.ScrapeReviews, mock.Anything, mock.Anything).After(10*time.Minute).Return(activities.ScrapeProgress{}, nil)
	b.env.RegisterDelayedCallback(b.env.CancelWorkflow, time.Minute)

	res := b.run(t)
	require.Equal(t, store.ScrapeCancelled, res.Status)
	require.Equal(t, store.ScrapeCancelled, b.finish(t).Status)
}

// A missing or unadmitted job cannot be recorded: the workflow fails.
func TestScrapeWorkflowFailsWhenTheJobCannotStart(t *testing.T) {
	t.Parallel()
	env := newScrapeEnv(t).env
	env.OnActivity(sa.StartScrape, mock.Anything, mock.Anything).Return(activities.ScrapeStart{},
		temporal.NewNonRetryableApplicationError("not found", activities.ErrTypeScrapeJobNotFound, nil))

	env.ExecuteWorkflow(workflows.ScrapeWorkflowName, workflows.ScrapeInput{TaskID: scrapeTaskID})
	require.True(t, env.IsWorkflowCompleted())
	require.ErrorContains(t, env.GetWorkflowError(), activities.ErrTypeScrapeJobNotFound)
	env.AssertActivityNotCalled(t, "ScrapeReviews", mock.Anything, mock.Anything)
}

// The workflow's ID, name and input are wire API shared with admission,
// which starts it from the activities package.
func TestScrapeWorkflowContract(t *testing.T) {
	t.Parallel()
	require.Equal(t, "scrape-"+scrapeTaskID, workflows.ScrapeWorkflowID(scrapeTaskID))
	require.Equal(t, "ScrapeWorkflow", workflows.ScrapeWorkflowName)
	sent, err := json.Marshal(activities.ScrapeStartInput{TaskID: scrapeTaskID})
	require.NoError(t, err)
	var got workflows.ScrapeInput
	require.NoError(t, json.Unmarshal(sent, &got))
	require.Equal(t, workflows.ScrapeInput{TaskID: scrapeTaskID}, got)
}
