package workflows

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/temporalx"
	"github.com/reviewdata/rd/internal/webhook"
)

// WebhookDeliveryInput is the delivery workflow's input. It is defined in
// package webhook because activities (EmitWebhook) and services (replay)
// start this workflow, and neither may import this package.
type WebhookDeliveryInput = webhook.DeliveryInput

// WebhookDeliveryResult is how a delivery run ended.
type WebhookDeliveryResult struct {
	// State is succeeded, dead_lettered, gone (the endpoint answered 410),
	// held (the endpoint is disabled; re-enabling it resumes the delivery)
	// or stopped (the run was replayed, cancelled or already finished).
	State string `json:"state"`
	// Attempts is how many attempts of this generation were made.
	Attempts int `json:"attempts"`
	// LastStatusCode is the last attempt's HTTP status; 0 without one.
	LastStatusCode int `json:"last_status_code"`
}

// Run end states.
const (
	DeliverySucceeded    = "succeeded"
	DeliveryDeadLettered = "dead_lettered"
	DeliveryGone         = "gone"
	DeliveryHeld         = "held"
	DeliveryStopped      = "stopped"
)

// WebhookDeliveryStatusQuery returns a WebhookDeliveryStatus.
const WebhookDeliveryStatusQuery = "status"

// WebhookDeliveryStatus is what the status query answers: where the run is.
type WebhookDeliveryStatus struct {
	// Phase is scheduled (sleeping until the next attempt), queued
	// (waiting for a send slot), sending, or one of the end states.
	Phase          string    `json:"phase"`
	Attempt        int       `json:"attempt"`
	Attempts       int       `json:"attempts"`
	NextAttemptAt  time.Time `json:"next_attempt_at"`
	LastStatusCode int       `json:"last_status_code"`
	LastError      string    `json:"last_error,omitempty"`
	Ahead          int       `json:"ahead"`
}

// WebhookDeliveryWorkflowID is webhook-{delivery_root_id}.
func WebhookDeliveryWorkflowID(deliveryID uuid.UUID) string {
	return webhook.DeliveryWorkflowID(deliveryID)
}

// Search attributes the workflow keeps current for Temporal Web.
var (
	attrAttempt = temporal.NewSearchAttributeKeyInt64(temporalx.AttrAttempt)
	attrStatus  = temporal.NewSearchAttributeKeyKeyword(temporalx.AttrStatus)
)

// WebhookDeliveryWorkflow delivers one event to one endpoint: up to
// len(Policy.Schedule) attempts (8), each after its scheduled wait with
// ±20% deterministic jitter, each waiting for one of the endpoint's send
// slots first. A 2xx ends it; a 429 or 503 with Retry-After stretches the
// next wait within bounds; a 410 disables the endpoint and cancels its
// deliveries; after the last failed attempt the delivery is dead-lettered.
// Bodies never enter its history: activities read them from PostgreSQL.
//
// It is registered as webhook.DeliveryWorkflowName and runs on the
// webhook-delivery queue with ID webhook-{delivery id}.
func WebhookDeliveryWorkflow(ctx workflow.Context, in WebhookDeliveryInput) (WebhookDeliveryResult, error) {
	r := &deliveryRun{in: in, policy: in.Policy.WithDefaults()}
	r.status.Attempts = r.policy.Attempts()
	if err := workflow.SetQueryHandler(ctx, WebhookDeliveryStatusQuery, func() (WebhookDeliveryStatus, error) {
		return r.status, nil
	}); err != nil {
		return WebhookDeliveryResult{}, err
	}
	res, err := r.run(ctx)
	if err != nil && temporal.IsCanceledError(err) {
		// Cancelled from outside (an operator, or a 410 on a sibling
		// delivery): make sure the row says so too.
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		_ = r.settle(dctx, activities.SettleCancelled, time.Time{})
	}
	return res, err
}

// deliveryRun is one run's state.
type deliveryRun struct {
	in     WebhookDeliveryInput
	policy webhook.Policy
	status WebhookDeliveryStatus
	wake   workflow.ReceiveChannel
}

// wa references the webhook activities by method; the worker registers the
// real implementation.
var wa *activities.WebhookActivities

func (r *deliveryRun) run(ctx workflow.Context) (WebhookDeliveryResult, error) {
	r.wake = workflow.GetSignalChannel(ctx, webhook.WakeSignal)
	seq := 1
	wait := r.policy.Wait(r.in.DeliveryID, r.in.Generation, 1)
	for {
		if wait > 0 {
			r.setPhase(ctx, "scheduled", seq, workflow.Now(ctx).Add(wait))
			if err := workflow.Sleep(ctx, wait); err != nil {
				return r.result(""), err
			}
		}
		slot, res, err := r.claim(ctx)
		if err != nil || slot == nil {
			return res, err
		}
		seq = slot.seq
		if seq > len(r.policy.Schedule) {
			// Every attempt was made but the run was lost before it could
			// settle (only after a crash between the two): finish now.
			return r.finish(ctx, activities.SettleDeadLetter, DeliveryDeadLettered)
		}
		r.setPhase(ctx, "sending", seq, time.Time{})
		_ = workflow.UpsertTypedSearchAttributes(ctx, attrAttempt.ValueSet(int64(seq)))

		sent, err := r.send(ctx, seq)
		if err != nil {
			return r.result(""), err
		}
		switch sent.Outcome {
		case activities.SendStale:
			r.setPhase(ctx, DeliveryStopped, seq, time.Time{})
			return r.result(DeliveryStopped), nil
		case activities.SendLapsed:
			wait = 0
			continue // nothing was sent: claim the same attempt again
		}
		r.status.LastStatusCode, r.status.LastError = sent.StatusCode, sent.Error
		switch code := sent.StatusCode; {
		case code >= 200 && code <= 299:
			r.setPhase(ctx, DeliverySucceeded, seq, time.Time{})
			return r.result(DeliverySucceeded), nil
		case code == http.StatusGone:
			return r.finish(ctx, activities.SettleGone, DeliveryGone)
		case seq >= len(r.policy.Schedule):
			return r.finish(ctx, activities.SettleDeadLetter, DeliveryDeadLettered)
		}
		seq++
		wait = r.policy.Wait(r.in.DeliveryID, r.in.Generation, seq)
		if (sent.StatusCode == http.StatusTooManyRequests || sent.StatusCode == http.StatusServiceUnavailable) && sent.RetryAfter > 0 {
			wait = r.policy.RetryAfterWait(wait, sent.RetryAfter)
		}
		next := workflow.Now(ctx).Add(wait)
		settled, err := r.settleResult(ctx, activities.SettleRetry, next)
		if err != nil {
			return r.result(""), err
		}
		if settled.EndpointDisabled {
			// Disabled after days of failures: stop here. Re-enabling the
			// endpoint resumes this delivery with its next attempt.
			r.setPhase(ctx, DeliveryHeld, seq, time.Time{})
			return r.result(DeliveryHeld), nil
		}
	}
}

// slot says which attempt got a send slot.
type slot struct{ seq int }

// claim waits for a send slot: it asks, and while the endpoint's slots are
// taken it waits for a wake signal (a slot was released) or the poll
// interval, whichever comes first, and asks again. It returns nil with the
// run's result when the run should end instead.
func (r *deliveryRun) claim(ctx workflow.Context) (*slot, WebhookDeliveryResult, error) {
	actx := workflow.WithActivityOptions(ctx, dbActivityOptions)
	for {
		r.drainWake()
		var res activities.ClaimWebhookSlotResult
		err := workflow.ExecuteActivity(actx, wa.ClaimWebhookSlot, activities.ClaimWebhookSlotInput{
			DeliveryID: r.in.DeliveryID, Generation: r.in.Generation, StaleAfter: 3*r.policy.PollInterval + 30*time.Second,
		}).Get(ctx, &res)
		if err != nil {
			return nil, r.result(""), err
		}
		r.status.Ahead = res.Ahead
		switch res.Outcome {
		case activities.ClaimAcquired:
			return &slot{seq: res.AttemptsMade + 1}, WebhookDeliveryResult{}, nil
		case activities.ClaimStop:
			r.setPhase(ctx, DeliveryStopped, res.AttemptsMade, time.Time{})
			return nil, r.result(DeliveryStopped), nil
		case activities.ClaimHeld:
			// Re-enabling the endpoint wakes this run if it is still
			// running, or starts a new one: a wake that came meanwhile
			// means ask again rather than end.
			if r.wake.ReceiveAsync(nil) {
				continue
			}
			r.setPhase(ctx, DeliveryHeld, res.AttemptsMade, time.Time{})
			return nil, r.result(DeliveryHeld), nil
		}
		r.setPhase(ctx, "queued", res.AttemptsMade+1, time.Time{})
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// Only a long wait behind a slow endpoint grows history this
			// far. The queue position is in the database, so a new run
			// just asks again.
			return nil, r.result(""), workflow.NewContinueAsNewError(ctx, WebhookDeliveryWorkflow, r.in)
		}
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(r.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.AddFuture(workflow.NewTimer(timerCtx, r.policy.PollInterval), func(workflow.Future) {})
		sel.Select(ctx)
		cancelTimer()
		if err := ctx.Err(); err != nil {
			return nil, r.result(""), temporal.NewCanceledError()
		}
	}
}

// send makes attempt seq. A send that fails without reporting (a lost
// worker, a timeout) is abandoned: recorded as a failed attempt if its
// request went out, or else made again.
func (r *deliveryRun) send(ctx workflow.Context, seq int) (activities.SendWebhookResult, error) {
	sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: r.policy.SendTimeout,
		// It POSTs: a retry would POST again. Temporal's default policy
		// retries forever.
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	in := activities.SendWebhookInput{DeliveryID: r.in.DeliveryID, Generation: r.in.Generation, Seq: seq}
	var res activities.SendWebhookResult
	sendErr := workflow.ExecuteActivity(sctx, wa.SendWebhook, in).Get(ctx, &res)
	if sendErr == nil {
		return res, nil
	}
	if temporal.IsCanceledError(sendErr) {
		return res, sendErr
	}
	var abandoned activities.AbandonWebhookAttemptResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivityOptions), wa.AbandonWebhookAttempt,
		activities.AbandonWebhookAttemptInput{
			DeliveryID: r.in.DeliveryID, Generation: r.in.Generation, Seq: seq, Reason: reason(sendErr),
		}).Get(ctx, &abandoned)
	if err != nil {
		return res, err
	}
	if !abandoned.Counted {
		return activities.SendWebhookResult{Outcome: activities.SendLapsed}, nil
	}
	return activities.SendWebhookResult{Outcome: activities.SendSent, AttemptID: abandoned.AttemptID, Error: reason(sendErr)}, nil
}

// reason describes an activity failure for the attempt log.
func reason(err error) string {
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return fmt.Sprintf("the attempt timed out (%s); its worker may have been lost", timeout.TimeoutType())
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Error()
	}
	return err.Error()
}

// finish settles a final failed outcome and ends the run with state.
func (r *deliveryRun) finish(ctx workflow.Context, outcome activities.SettleOutcome, state string) (WebhookDeliveryResult, error) {
	if err := r.settle(ctx, outcome, time.Time{}); err != nil {
		return r.result(""), err
	}
	r.setPhase(ctx, state, r.status.Attempt, time.Time{})
	return r.result(state), nil
}

func (r *deliveryRun) settle(ctx workflow.Context, outcome activities.SettleOutcome, next time.Time) error {
	_, err := r.settleResult(ctx, outcome, next)
	return err
}

func (r *deliveryRun) settleResult(ctx workflow.Context, outcome activities.SettleOutcome, next time.Time) (activities.SettleWebhookDeliveryResult, error) {
	var res activities.SettleWebhookDeliveryResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivityOptions), wa.SettleWebhookDelivery,
		activities.SettleWebhookDeliveryInput{
			DeliveryID: r.in.DeliveryID, Generation: r.in.Generation, Outcome: outcome, NextAttemptAt: next,
		}).Get(ctx, &res)
	return res, err
}

// drainWake drops wake signals that arrived while the run was busy: the
// claim about to run reads the database, which is what they hint at.
func (r *deliveryRun) drainWake() {
	for r.wake.ReceiveAsync(nil) {
	}
}

// setPhase updates the status query, the RdStatus search attribute and
// the details panel Temporal Web shows.
func (r *deliveryRun) setPhase(ctx workflow.Context, phase string, attempt int, next time.Time) {
	if phase != r.status.Phase {
		_ = workflow.UpsertTypedSearchAttributes(ctx, attrStatus.ValueSet(phase))
	}
	r.status.Phase, r.status.Attempt, r.status.NextAttemptAt = phase, attempt, next
	details := fmt.Sprintf("**%s** · attempt %d of %d · generation %d · webhook-id `%s`",
		phase, attempt, r.status.Attempts, r.in.Generation, webhook.WebhookID(r.in.DeliveryID))
	if !next.IsZero() {
		details += "\n\nnext attempt at " + next.UTC().Format(time.RFC3339)
	}
	if r.status.LastStatusCode != 0 || r.status.LastError != "" {
		details += fmt.Sprintf("\n\nlast attempt: status %d %s", r.status.LastStatusCode, r.status.LastError)
	}
	if phase == "queued" {
		details += fmt.Sprintf("\n\n%d deliveries to this endpoint hold slots or wait ahead", r.status.Ahead)
	}
	workflow.SetCurrentDetails(ctx, details)
}

func (r *deliveryRun) result(state string) WebhookDeliveryResult {
	return WebhookDeliveryResult{State: state, Attempts: r.status.Attempt, LastStatusCode: r.status.LastStatusCode}
}

// dbActivityOptions are for the delivery's database steps: idempotent, so
// retried until the database answers; a delivery outlives an outage.
var dbActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
		NonRetryableErrorTypes: []string{
			activities.ErrTypeWebhookDeliveryNotFound,
		},
	},
}
