package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/temporalx"
)

// EmitWebhook is how any workflow reports to its integrator: it runs the
// shared EmitWebhook activity on the webhook-delivery queue (whose workers
// register it), retrying until it succeeds or the input is refused. Emitting
// is idempotent per (integrator, event type, subject), so a workflow that
// replays or retries this step delivers the event once.
//
//	data, _ := json.Marshal(webhook.DataResult{Job: webhook.Job{TaskID: taskID, PublisherKey: "yelp"}, Status: "COMPLETED"})
//	_, err := workflows.EmitWebhook(ctx, activities.EmitWebhookInput{
//		Integrator: job.Integrator, EventType: webhook.EventDataResult,
//		SubjectID: taskID.String(), RequestID: job.RequestID, Data: data,
//	})
//
// The input lands in the calling workflow's history: keep Data small.
func EmitWebhook(ctx workflow.Context, in activities.EmitWebhookInput) (activities.EmitWebhookResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           temporalx.QueueWebhookDelivery,
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeInvalidWebhookEvent},
		},
	})
	var res activities.EmitWebhookResult
	err := workflow.ExecuteActivity(ctx, wa.EmitWebhook, in).Get(ctx, &res)
	return res, err
}
