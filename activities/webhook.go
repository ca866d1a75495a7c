package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/reviewdata/rd/internal/secrets"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/store"
)

// Error types of the webhook activities' non-retryable errors.
const (
	// ErrTypeInvalidWebhookEvent: EmitWebhook's input is wrong; retrying
	// the same input cannot help.
	ErrTypeInvalidWebhookEvent = "InvalidWebhookEvent"
	// ErrTypeWebhookDeliveryNotFound: the delivery row does not exist.
	ErrTypeWebhookDeliveryNotFound = "WebhookDeliveryNotFound"
)

// Webhook metering and health defaults; see WebhookConfig.
const (
	DefaultWebhookHTTPTimeout    = 10 * time.Second
	DefaultWebhookClaimLease     = 60 * time.Second
	DefaultWebhookFailingDisable = 5 * 24 * time.Hour
	// webhookLeaseMargin is added to the HTTP timeout for the lease taken
	// when the request goes out: recording the outcome takes a moment.
	webhookLeaseMargin = 20 * time.Second
	// maxResponseBody is how much of a response body an attempt keeps.
	maxResponseBody = 20 << 10
)

// WebhookConfig tunes the webhook activities. The zero value means the
// defaults.
type WebhookConfig struct {
	// HTTPTimeout bounds one POST, body read included. The HTTP client
	// should have the same timeout. Defaults to 10s.
	HTTPTimeout time.Duration
	// ClaimLease is how long a claimed send slot is held before the request
	// goes out; if the worker is lost in between, the slot frees itself
	// after it. Defaults to 60s.
	ClaimLease time.Duration
	// FailingDisableAfter is how long an endpoint may fail every attempt
	// before it is disabled. Defaults to 5 days.
	FailingDisableAfter time.Duration
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = DefaultWebhookHTTPTimeout
	}
	if c.ClaimLease <= 0 {
		c.ClaimLease = DefaultWebhookClaimLease
	}
	if c.FailingDisableAfter <= 0 {
		c.FailingDisableAfter = DefaultWebhookFailingDisable
	}
	return c
}

// WebhookActivities emit events and drive deliveries: everything the
// delivery workflow does outside its own deterministic code. Build it once
// per worker process.
type WebhookActivities struct {
	// Store is the source of truth. Required.
	Store *store.Store
	// Secrets decrypts endpoints' signing secrets. Required.
	Secrets *secrets.Keyring
	// HTTP posts deliveries: a netguard client, which refuses private
	// addresses at dial time and never follows redirects. Required.
	HTTP *http.Client
	// Starter starts, wakes and cancels delivery workflows. Required.
	Starter *webhook.Starter
	// Config tunes timeouts and thresholds.
	Config WebhookConfig
	// Now is the clock; defaults to time.Now. Tests move it.
	Now func() time.Time
}

func (a *WebhookActivities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// EmitWebhookInput is one event to deliver to its integrator's endpoints.
//
// Call EmitWebhook from a workflow through workflows.EmitWebhook, which
// routes the activity to the webhook-delivery queue; this input is
// recorded in the calling workflow's history, so keep Data small (IDs and
// URLs, not review bodies).
type EmitWebhookInput struct {
	// Integrator owns the endpoints that receive the event. Required.
	Integrator string `json:"integrator"`
	// EventType is one of webhook.SubscribableEvents. Required.
	EventType webhook.EventType `json:"event_type"`
	// SubjectID is what the event is about: the task_id for job events,
	// or another ID that is unique per occurrence (e.g. a QA task ID for
	// COOKIE_UPDATED). The same (Integrator, EventType, SubjectID) is
	// stored and delivered once, however often it is emitted. Required.
	SubjectID string `json:"subject_id"`
	// RequestID is the inbound request the event traces back to.
	// Required.
	RequestID string `json:"request_id"`
	// Data is the payload: a marshalled webhook.DataResult, …, matching
	// EventType. Required.
	Data json.RawMessage `json:"data"`
}

// EmitWebhookResult says what EmitWebhook did.
type EmitWebhookResult struct {
	// EventID is the stored event's ID, the same on every repeated emit.
	EventID uuid.UUID `json:"event_id"`
	// Created is false when the event had been emitted before.
	Created bool `json:"created"`
	// Deliveries counts the event's deliveries, one per subscribed endpoint.
	Deliveries int `json:"deliveries"`
	// Held counts deliveries to disabled endpoints: recorded, not started.
	Held int `json:"held"`
}

// EmitWebhook stores an event and fans it out: one delivery per live
// endpoint of the integrator subscribed to its type, and one delivery
// workflow (webhook-{delivery id}) started per delivery whose endpoint is
// active. Deliveries to disabled endpoints are recorded but wait until the
// endpoint is re-enabled.
//
// It is idempotent: emitting the same (integrator, type, subject) again
// stores nothing new and starts nothing new. It returns a non-retryable
// error of type ErrTypeInvalidWebhookEvent when the input is incomplete,
// the type is unknown or Data is not JSON.
func (a *WebhookActivities) EmitWebhook(ctx context.Context, in EmitWebhookInput) (EmitWebhookResult, error) {
	if err := in.validate(); err != nil {
		return EmitWebhookResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidWebhookEvent, err)
	}
	ev := &store.WebhookEvent{
		Integrator: in.Integrator, Type: string(in.EventType), SubjectID: in.SubjectID,
		RequestID: in.RequestID, Payload: in.Data,
	}
	var (
		deliveries []store.WebhookDelivery
		endpoints  map[uuid.UUID]store.WebhookEndpoint
		created    bool
	)
	err := a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if created, err = store.InsertWebhookEvent(ctx, tx, ev); err != nil {
			return err
		}
		var eps []store.WebhookEndpoint
		if created {
			eps, err = store.ListSubscribedWebhookEndpoints(ctx, tx, in.Integrator, string(in.EventType))
		} else {
			// The fan-out happened with the first emit, in the same
			// transaction: keep its deliveries and their endpoints, rather
			// than the endpoints subscribed now (some may have been added
			// or unsubscribed since).
			if err := tx.NewSelect().Model(&deliveries).Where("event_id = ?", ev.ID).OrderExpr("id").Scan(ctx); err != nil {
				return err
			}
			ids := make([]uuid.UUID, len(deliveries))
			for i, d := range deliveries {
				ids[i] = d.EndpointID
			}
			eps, err = store.ListLiveWebhookEndpoints(ctx, tx, ids)
		}
		if err != nil {
			return err
		}
		endpoints = make(map[uuid.UUID]store.WebhookEndpoint, len(eps))
		ids := make([]uuid.UUID, 0, len(eps))
		for _, ep := range eps {
			endpoints[ep.ID] = ep
			ids = append(ids, ep.ID)
		}
		if !created {
			return nil
		}
		deliveries, err = store.InsertWebhookDeliveries(ctx, tx, ev.ID, ids)
		return err
	})
	if err != nil {
		return EmitWebhookResult{}, fmt.Errorf("emit webhook %s/%s: %w", in.EventType, in.SubjectID, err)
	}
	res := EmitWebhookResult{EventID: ev.ID, Created: created, Deliveries: len(deliveries)}
	for _, d := range deliveries {
		ep, ok := endpoints[d.EndpointID]
		if !ok || ep.Status != store.WebhookEndpointActive {
			res.Held++
			continue
		}
		err := a.Starter.Start(ctx, webhook.Delivery{
			ID: d.ID, Generation: d.Generation, EndpointID: d.EndpointID,
			EventType: in.EventType, Integrator: in.Integrator,
		})
		if err != nil {
			return EmitWebhookResult{}, err
		}
	}
	return res, nil
}

func (in EmitWebhookInput) validate() error {
	var errs []error
	if in.Integrator == "" {
		errs = append(errs, errors.New("integrator is required"))
	}
	if !in.EventType.Subscribable() {
		errs = append(errs, fmt.Errorf("event type %q is not one of %v", in.EventType, webhook.SubscribableEvents))
	}
	if in.SubjectID == "" || len(in.SubjectID) > 255 {
		errs = append(errs, errors.New("subject_id is required, at most 255 characters"))
	}
	if in.RequestID == "" || len(in.RequestID) > 255 {
		errs = append(errs, errors.New("request_id is required, at most 255 characters"))
	}
	if len(in.Data) == 0 || !json.Valid(in.Data) {
		errs = append(errs, errors.New("data must be a JSON value"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid webhook event: %w", err)
	}
	return nil
}

// logger returns the activity logger, or a no-op outside an activity (the
// services call some of these helpers directly).
func logger(ctx context.Context) interface {
	Warn(string, ...any)
} {
	if activity.IsActivity(ctx) {
		return activity.GetLogger(ctx)
	}
	return nopLogger{}
}

type nopLogger struct{}

func (nopLogger) Warn(string, ...any) {}
