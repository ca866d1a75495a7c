package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/reviewdata/rd/internal/temporalx"
)

// DeliveryWorkflowName is the registered name of the delivery workflow
// (workflows.WebhookDeliveryWorkflow). It is wire API: renaming it strands
// running deliveries.
const DeliveryWorkflowName = "WebhookDeliveryWorkflow"

// WakeSignal tells a delivery workflow to ask for a send slot now: a slot of
// its endpoint was released, or its endpoint was re-enabled. It carries no
// payload and is only a hint: the database decides.
const WakeSignal = "wake"

// DeliveryWorkflowID is the workflow ID of a delivery: webhook-{delivery_root_id}.
func DeliveryWorkflowID(deliveryID uuid.UUID) string { return "webhook-" + deliveryID.String() }

// DeliveryInput is the delivery workflow's input. It carries IDs, never the
// body: bodies stay in PostgreSQL, out of workflow history.
type DeliveryInput struct {
	// DeliveryID is the webhook_deliveries row (the delivery_root_id).
	DeliveryID uuid.UUID `json:"delivery_id"`
	// Generation is the run of the schedule this workflow run drives: 1,
	// plus one per replay. A run whose generation is no longer the row's
	// stops at its next step.
	Generation int `json:"generation"`
	// Policy is the retry policy of this run.
	Policy Policy `json:"policy"`
}

// Delivery names what Starter needs to start a delivery's workflow; the
// endpoint, event type and integrator become search attributes operators
// filter on in Temporal Web.
type Delivery struct {
	ID         uuid.UUID
	Generation int
	EndpointID uuid.UUID
	EventType  EventType
	Integrator string
}

// Starter starts, wakes and cancels delivery workflows on the
// webhook-delivery queue. Every method is idempotent.
type Starter struct {
	// Client is the Temporal client. Required.
	Client client.Client
	// Policy is put in the input of every run started. The zero value means
	// the defaults.
	Policy Policy
	// TaskQueue is where delivery workflows run. Defaults to
	// temporalx.QueueWebhookDelivery; tests sharing a server use their own.
	TaskQueue string
}

// Search attribute keys set on every delivery workflow.
var (
	attrEndpointID = temporal.NewSearchAttributeKeyKeyword(temporalx.AttrEndpointID)
	attrEventType  = temporal.NewSearchAttributeKeyKeyword(temporalx.AttrEventType)
	attrIntegrator = temporal.NewSearchAttributeKeyKeyword(temporalx.AttrIntegrator)
)

func (s *Starter) options(d Delivery) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:        DeliveryWorkflowID(d.ID),
		TaskQueue: s.taskQueue(),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			attrEndpointID.ValueSet(d.EndpointID.String()),
			attrEventType.ValueSet(string(d.EventType)),
			attrIntegrator.ValueSet(d.Integrator),
		),
	}
}

func (s *Starter) taskQueue() string {
	if s.TaskQueue != "" {
		return s.TaskQueue
	}
	return temporalx.QueueWebhookDelivery
}

func (s *Starter) input(d Delivery) DeliveryInput {
	return DeliveryInput{DeliveryID: d.ID, Generation: d.Generation, Policy: s.Policy.WithDefaults()}
}

// Start starts the first run of a new delivery. A run that exists, running
// or closed, is left alone and Start succeeds: EmitWebhook may be retried.
func (s *Starter) Start(ctx context.Context, d Delivery) error {
	opts := s.options(d)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	_, err := s.Client.ExecuteWorkflow(ctx, opts, DeliveryWorkflowName, s.input(d))
	if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return fmt.Errorf("webhook: start %s: %w", opts.ID, err)
	}
	return nil
}

// Resume makes sure a delivery's current generation is being driven: it
// wakes the running workflow, or starts a new run when none is running (a
// delivery held while its endpoint was disabled). A new run of a delivery
// that has finished stops at once, so Resume is safe on any delivery.
func (s *Starter) Resume(ctx context.Context, d Delivery) error {
	opts := s.options(d)
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	_, err := s.Client.SignalWithStartWorkflow(ctx, opts.ID, WakeSignal, nil, opts, DeliveryWorkflowName, s.input(d))
	if err != nil {
		return fmt.Errorf("webhook: resume %s: %w", opts.ID, err)
	}
	return nil
}

// Restart starts a run for a new generation of a delivery (a replay),
// terminating a run of an older generation that may still be finishing.
func (s *Starter) Restart(ctx context.Context, d Delivery) error {
	opts := s.options(d)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	if _, err := s.Client.ExecuteWorkflow(ctx, opts, DeliveryWorkflowName, s.input(d)); err != nil {
		return fmt.Errorf("webhook: restart %s: %w", opts.ID, err)
	}
	return nil
}

// Wake signals a delivery's workflow to ask for a send slot now. A
// workflow that is not running is not an error: there is nobody to wake.
func (s *Starter) Wake(ctx context.Context, deliveryID uuid.UUID) error {
	err := s.Client.SignalWorkflow(ctx, DeliveryWorkflowID(deliveryID), "", WakeSignal, nil)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("webhook: wake %s: %w", DeliveryWorkflowID(deliveryID), err)
	}
	return nil
}

// Cancel asks a delivery's workflow to stop (its row is already cancelled).
// A workflow that is not running is not an error.
func (s *Starter) Cancel(ctx context.Context, deliveryID uuid.UUID) error {
	err := s.Client.CancelWorkflow(ctx, DeliveryWorkflowID(deliveryID), "")
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("webhook: cancel %s: %w", DeliveryWorkflowID(deliveryID), err)
	}
	return nil
}

// isNotFound reports whether err says the workflow is not running: never
// started, or already closed.
func isNotFound(err error) bool {
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound)
}
