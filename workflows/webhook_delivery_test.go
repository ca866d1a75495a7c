package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/workflows"
)

// fakeEndpoint plays the activities' side of a delivery: it answers each
// attempt with the next scripted response and records when (in workflow
// time) each attempt was sent and how each run was settled.
type fakeEndpoint struct {
	env *testsuite.TestWorkflowEnvironment

	mu        sync.Mutex
	responses []activities.SendWebhookResult // per attempt; the last one repeats
	claims    []activities.ClaimOutcome      // scripted claim answers; then acquired
	sendErrs  []error                        // per attempt, before responses
	sentAt    []time.Time
	claimedAt []time.Time
	settled   []activities.SettleWebhookDeliveryInput
	abandoned []activities.AbandonWebhookAttemptInput
	attempts  int
	disabled  bool // SettleWebhookDelivery reports the endpoint disabled
}

func (f *fakeEndpoint) claim(_ context.Context, in activities.ClaimWebhookSlotInput) (activities.ClaimWebhookSlotResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claimedAt = append(f.claimedAt, f.env.Now())
	outcome := activities.ClaimAcquired
	if len(f.claims) > 0 {
		outcome, f.claims = f.claims[0], f.claims[1:]
	}
	return activities.ClaimWebhookSlotResult{Outcome: outcome, AttemptsMade: f.attempts}, nil
}

func (f *fakeEndpoint) send(_ context.Context, in activities.SendWebhookInput) (activities.SendWebhookResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.Seq != f.attempts+1 {
		return activities.SendWebhookResult{}, errors.New("attempts out of order")
	}
	f.attempts++
	f.sentAt = append(f.sentAt, f.env.Now())
	if len(f.sendErrs) > 0 {
		err := f.sendErrs[0]
		f.sendErrs = f.sendErrs[1:]
		if err != nil {
			return activities.SendWebhookResult{}, err
		}
	}
	res := f.responses[min(f.attempts, len(f.responses))-1]
	res.Outcome, res.AttemptID = activities.SendSent, uuid.New()
	return res, nil
}

func (f *fakeEndpoint) abandon(_ context.Context, in activities.AbandonWebhookAttemptInput) (activities.AbandonWebhookAttemptResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.abandoned = append(f.abandoned, in)
	return activities.AbandonWebhookAttemptResult{Counted: true, AttemptID: uuid.New()}, nil
}

func (f *fakeEndpoint) settle(_ context.Context, in activities.SettleWebhookDeliveryInput) (activities.SettleWebhookDeliveryResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settled = append(f.settled, in)
	return activities.SettleWebhookDeliveryResult{EndpointDisabled: f.disabled || in.Outcome == activities.SettleGone}, nil
}

func (f *fakeEndpoint) outcomes() []activities.SettleOutcome {
	var out []activities.SettleOutcome
	for _, s := range f.settled {
		out = append(out, s.Outcome)
	}
	return out
}

// gaps returns the time between consecutive sends.
func (f *fakeEndpoint) gaps() []time.Duration {
	var out []time.Duration
	for i := 1; i < len(f.sentAt); i++ {
		out = append(out, f.sentAt[i].Sub(f.sentAt[i-1]))
	}
	return out
}

type deliveryBundle struct {
	env      *testsuite.TestWorkflowEnvironment
	endpoint *fakeEndpoint
	input    workflows.WebhookDeliveryInput
}

func setupDelivery(t *testing.T, responses ...activities.SendWebhookResult) *deliveryBundle {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.WebhookDeliveryWorkflow, workflow.RegisterOptions{Name: webhook.DeliveryWorkflowName})
	f := &fakeEndpoint{env: env, responses: responses}
	var wa *activities.WebhookActivities
	env.RegisterActivity(wa)
	env.OnActivity(wa.ClaimWebhookSlot, mock.Anything, mock.Anything).Return(f.claim)
	env.OnActivity(wa.SendWebhook, mock.Anything, mock.Anything).Return(f.send)
	env.OnActivity(wa.AbandonWebhookAttempt, mock.Anything, mock.Anything).Return(f.abandon)
	env.OnActivity(wa.SettleWebhookDelivery, mock.Anything, mock.Anything).Return(f.settle)
	return &deliveryBundle{
		env:      env,
		endpoint: f,
		input:    workflows.WebhookDeliveryInput{DeliveryID: uuid.New(), Generation: 1},
	}
}

func (b *deliveryBundle) run(t *testing.T) workflows.WebhookDeliveryResult {
	t.Helper()
	b.env.ExecuteWorkflow(workflows.WebhookDeliveryWorkflow, b.input)
	require.True(t, b.env.IsWorkflowCompleted())
	require.NoError(t, b.env.GetWorkflowError())
	var res workflows.WebhookDeliveryResult
	require.NoError(t, b.env.GetWorkflowResult(&res))
	return res
}

func httpStatus(code int) activities.SendWebhookResult {
	return activities.SendWebhookResult{StatusCode: code}
}

func TestWebhookDeliveryFollowsScheduleWithJitterThenDeadLetters(t *testing.T) {
	t.Parallel()
	for range 5 { // five deliveries, five different jitter draws
		b := setupDelivery(t, httpStatus(500))
		res := b.run(t)

		require.Equal(t, workflows.DeliveryDeadLettered, res.State)
		require.Equal(t, 8, res.Attempts)
		require.Len(t, b.endpoint.sentAt, 8, "dead-lettered after exactly the eighth attempt")
		require.Equal(t, []activities.SettleOutcome{
			activities.SettleRetry, activities.SettleRetry, activities.SettleRetry, activities.SettleRetry,
			activities.SettleRetry, activities.SettleRetry, activities.SettleRetry, activities.SettleDeadLetter,
		}, b.endpoint.outcomes())

		gaps := b.endpoint.gaps()
		for i, gap := range gaps {
			scheduled := webhook.DefaultSchedule[i+1]
			lo, hi := time.Duration(float64(scheduled)*0.8), time.Duration(float64(scheduled)*1.2)
			require.GreaterOrEqual(t, gap, lo, "wait before attempt %d", i+2)
			require.LessOrEqual(t, gap, hi+time.Second, "wait before attempt %d", i+2)
			// The wait is exactly what the policy draws for this delivery:
			// deterministic, so a replay of the history agrees.
			require.InDelta(t, float64(webhook.Policy{}.Wait(b.input.DeliveryID, 1, i+2)), float64(gap), float64(time.Second))
			// The recorded next attempt time is the one that was kept.
			require.WithinDuration(t, b.endpoint.sentAt[i+1], b.endpoint.settled[i].NextAttemptAt, 0)
		}
		total := b.endpoint.sentAt[7].Sub(b.endpoint.sentAt[0])
		require.InDelta(t, 27.6, total.Hours(), 27.6*0.2, "about 27.6 hours in all")
	}
}

func TestWebhookDeliveryJitterDiffersPerDelivery(t *testing.T) {
	t.Parallel()
	p := webhook.Policy{}
	a, b := p.Wait(uuid.New(), 1, 4), p.Wait(uuid.New(), 1, 4)
	require.NotEqual(t, a, b, "two deliveries failing together do not retry in lock step")
}

func TestWebhookDeliverySucceedsOn2xx(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(500), httpStatus(502), httpStatus(204))
	res := b.run(t)
	require.Equal(t, workflows.DeliverySucceeded, res.State)
	require.Equal(t, 3, res.Attempts)
	require.Equal(t, 204, res.LastStatusCode)
	require.Equal(t, []activities.SettleOutcome{activities.SettleRetry, activities.SettleRetry}, b.endpoint.outcomes())
}

func TestWebhookDeliveryHonoursRetryAfterWithinBounds(t *testing.T) {
	t.Parallel()
	retryAfter := func(code int, d time.Duration) activities.SendWebhookResult {
		return activities.SendWebhookResult{StatusCode: code, RetryAfter: d}
	}
	b := setupDelivery(t,
		retryAfter(503, time.Second),   // scheduled 5s±20%, asks 1s: at least 60s
		retryAfter(429, 7*time.Minute), // scheduled 5m±20%, asks 7m: within [1x, 2x]
		retryAfter(429, 10*time.Hour),  // scheduled 30m±20%, asks 10h: capped at 2x
		retryAfter(500, 10*time.Hour),  // not 429/503: Retry-After is ignored
		httpStatus(200),
	)
	res := b.run(t)
	require.Equal(t, workflows.DeliverySucceeded, res.State)

	p := webhook.Policy{}
	id := b.input.DeliveryID
	gaps := b.endpoint.gaps()
	require.Len(t, gaps, 4)
	require.Equal(t, 60*time.Second, gaps[0], "a short Retry-After is raised to the 60 s floor")
	require.Equal(t, 7*time.Minute, gaps[1], "a Retry-After within 1x-2x of the schedule is honoured")
	require.Equal(t, 2*p.Wait(id, 1, 4), gaps[2], "a long Retry-After is capped at 2x the scheduled wait")
	require.Equal(t, p.Wait(id, 1, 5), gaps[3], "Retry-After only counts on 429 and 503")
}

func TestWebhookDeliveryGoneDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(500), httpStatus(410))
	res := b.run(t)
	require.Equal(t, workflows.DeliveryGone, res.State)
	require.Len(t, b.endpoint.sentAt, 2, "no attempt after a 410")
	require.Equal(t, []activities.SettleOutcome{activities.SettleRetry, activities.SettleGone}, b.endpoint.outcomes())
}

func TestWebhookDeliveryRedirectIsAFailure(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(302), httpStatus(200))
	res := b.run(t)
	require.Equal(t, workflows.DeliverySucceeded, res.State)
	require.Len(t, b.endpoint.sentAt, 2)
}

func TestWebhookDeliveryWaitsForASlotAndWakesEarly(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(200))
	b.input.Policy.PollInterval = time.Minute
	b.endpoint.claims = []activities.ClaimOutcome{activities.ClaimWait, activities.ClaimWait}
	// A slot frees 10 s in: the release wakes the run.
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(webhook.WakeSignal, nil)
	}, 10*time.Second)
	res := b.run(t)
	require.Equal(t, workflows.DeliverySucceeded, res.State)

	c := b.endpoint.claimedAt
	require.Len(t, c, 3)
	require.Equal(t, 10*time.Second, c[1].Sub(c[0]), "woken by the signal, not the poll")
	require.Equal(t, time.Minute, c[2].Sub(c[1]), "without a wake-up it asks again after the poll interval")
}

func TestWebhookDeliveryHeldWhileEndpointDisabled(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(200))
	b.endpoint.claims = []activities.ClaimOutcome{activities.ClaimHeld}
	res := b.run(t)
	require.Equal(t, workflows.DeliveryHeld, res.State)
	require.Empty(t, b.endpoint.sentAt, "nothing is sent to a disabled endpoint")
}

func TestWebhookDeliveryStopsWhenEndpointDisabledForFailing(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(500))
	b.endpoint.disabled = true
	res := b.run(t)
	require.Equal(t, workflows.DeliveryHeld, res.State)
	require.Len(t, b.endpoint.sentAt, 1, "no 5-hour sleep for a disabled endpoint")
}

func TestWebhookDeliveryStopsForStaleRun(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(200))
	b.endpoint.claims = []activities.ClaimOutcome{activities.ClaimStop}
	res := b.run(t)
	require.Equal(t, workflows.DeliveryStopped, res.State)
	require.Empty(t, b.endpoint.sentAt)
}

func TestWebhookDeliveryLostSendIsRecordedAndRetried(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(200))
	b.endpoint.sendErrs = []error{temporal.NewApplicationError("worker lost", "Lost")}
	res := b.run(t)
	require.Equal(t, workflows.DeliverySucceeded, res.State)
	require.Len(t, b.endpoint.abandoned, 1)
	require.Equal(t, 1, b.endpoint.abandoned[0].Seq)
	require.Contains(t, b.endpoint.abandoned[0].Reason, "worker lost")
	require.Equal(t, 2, res.Attempts, "the lost attempt counts")
	require.Equal(t, []activities.SettleOutcome{activities.SettleRetry}, b.endpoint.outcomes())
}

func TestWebhookDeliveryCancelledMarksTheRow(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(500))
	b.env.RegisterDelayedCallback(b.env.CancelWorkflow, time.Minute)
	b.env.ExecuteWorkflow(workflows.WebhookDeliveryWorkflow, b.input)
	require.True(t, b.env.IsWorkflowCompleted())
	require.True(t, temporal.IsCanceledError(b.env.GetWorkflowError()))
	require.Equal(t, []activities.SettleOutcome{activities.SettleRetry, activities.SettleRetry, activities.SettleCancelled},
		b.endpoint.outcomes())
}

func TestWebhookDeliveryShortScheduleFromPolicy(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(500))
	b.input.Policy.Schedule = []time.Duration{0, time.Second, time.Second}
	res := b.run(t)
	require.Equal(t, workflows.DeliveryDeadLettered, res.State)
	require.Len(t, b.endpoint.sentAt, 3, "the schedule's length is the number of attempts")
}

func TestWebhookDeliveryContinuesAsNewWhileQueued(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, httpStatus(200))
	b.endpoint.claims = []activities.ClaimOutcome{activities.ClaimWait}
	b.env.SetContinueAsNewSuggested(true)
	b.env.ExecuteWorkflow(workflows.WebhookDeliveryWorkflow, b.input)
	require.True(t, b.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, b.env.GetWorkflowError(), &can, "a long wait for a slot continues as new")
	require.Empty(t, b.endpoint.sentAt)
	var next workflows.WebhookDeliveryInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, b.input.DeliveryID, next.DeliveryID, "the queue position is in the database; the input is all it needs")
	require.Equal(t, b.input.Generation, next.Generation)
}
