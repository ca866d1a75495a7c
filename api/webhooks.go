package api

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/internal/signing"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// webhooks holds the integrator endpoint operations and the operator
// delivery operations.
type webhooks struct {
	svc *service.Webhooks
}

// WebhookEndpoint is an integrator's webhook receiver.
type WebhookEndpoint struct {
	ID                   uuid.UUID  `json:"id"`
	URL                  string     `json:"url" example:"https://hooks.example.com/rd"`
	Description          string     `json:"description"`
	EventTypes           []string   `json:"event_types" example:"[\"DATA_RESULT\"]"`
	MaxInFlight          int        `json:"max_in_flight" example:"4" doc:"Most deliveries sent to this endpoint at once; the rest wait in order."`
	Status               string     `json:"status" enum:"active,disabled"`
	DisabledReason       string     `json:"disabled_reason,omitempty" enum:"gone,failing,manual" doc:"gone: it answered 410; failing: 5 days of failed attempts only; manual: you disabled it."`
	DisabledAt           *time.Time `json:"disabled_at,omitempty"`
	SecretRotationEndsAt *time.Time `json:"secret_rotation_ends_at,omitempty" doc:"While a secret rotation's overlap lasts: when the previous secret stops signing."`
	CreatedAt            time.Time  `json:"created_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

func webhookEndpoint(ep *service.Endpoint) WebhookEndpoint {
	return WebhookEndpoint{
		ID: ep.ID, URL: ep.URL, Description: ep.Description, EventTypes: ep.EventTypes, MaxInFlight: ep.MaxInFlight,
		Status: string(ep.Status), DisabledReason: string(ep.DisabledReason), DisabledAt: ep.DisabledAt,
		SecretRotationEndsAt: ep.SecretRotationEndsAt, CreatedAt: ep.CreatedAt, UpdatedAt: ep.UpdatedAt,
	}
}

// eventTypeEnum is the enum tag value of subscribable event types.
const eventTypeEnum = "URL_UPDATED,DATA_RESULT,CREDENTIAL_UPDATED,COOKIE_UPDATED,RESPONSE_SUBMISSION,PUBLISHER_DISCONNECTED"

// CreateWebhookEndpointInput creates an endpoint.
type CreateWebhookEndpointInput struct {
	Body struct {
		APIKeyField
		URL         string   `json:"url" minLength:"1" maxLength:"2048" format:"uri" doc:"Where RD POSTs events: a public http(s) URL." example:"https://hooks.example.com/rd"`
		Description string   `json:"description,omitempty" maxLength:"1024" doc:"Your label for it."`
		EventTypes  []string `json:"event_types" minItems:"1" uniqueItems:"true" enum:"URL_UPDATED,DATA_RESULT,CREDENTIAL_UPDATED,COOKIE_UPDATED,RESPONSE_SUBMISSION,PUBLISHER_DISCONNECTED" doc:"Event types to receive."`
		MaxInFlight int      `json:"max_in_flight,omitempty" minimum:"1" maximum:"64" doc:"Most deliveries sent at once; defaults to 4."`
	}
}

// CreatedWebhookEndpointOutput is the new endpoint and its secret.
type CreatedWebhookEndpointOutput struct {
	Body struct {
		WebhookEndpoint
		Secret string `json:"secret" example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" doc:"The signing secret. Shown only now: store it to verify deliveries (see docs/webhooks.md)."`
	}
}

// WebhookEndpointIDInput addresses one of your endpoints.
type WebhookEndpointIDInput struct {
	ID uuid.UUID `path:"id" doc:"The endpoint's id."`
}

// UpdateWebhookEndpointInput changes an endpoint; absent fields stay.
type UpdateWebhookEndpointInput struct {
	ID   uuid.UUID `path:"id" doc:"The endpoint's id."`
	Body struct {
		APIKeyField
		URL         *string  `json:"url,omitempty" minLength:"1" maxLength:"2048" format:"uri"`
		Description *string  `json:"description,omitempty" maxLength:"1024"`
		EventTypes  []string `json:"event_types,omitempty" minItems:"1" uniqueItems:"true" enum:"URL_UPDATED,DATA_RESULT,CREDENTIAL_UPDATED,COOKIE_UPDATED,RESPONSE_SUBMISSION,PUBLISHER_DISCONNECTED"`
		MaxInFlight *int     `json:"max_in_flight,omitempty" minimum:"1" maximum:"64"`
		Enabled     *bool    `json:"enabled,omitempty" doc:"false disables the endpoint: events are recorded but not sent. true re-enables it and sends what was held, in order."`
	}
}

// WebhookEndpointIDBodyInput addresses one of your endpoints in a POST,
// whose body may carry the API key.
type WebhookEndpointIDBodyInput struct {
	ID   uuid.UUID `path:"id" doc:"The endpoint's id."`
	Body *struct {
		APIKeyField
	}
}

// WebhookEndpointOutput is one endpoint.
type WebhookEndpointOutput struct {
	Body WebhookEndpoint
}

// WebhookEndpointListOutput is every live endpoint of yours.
type WebhookEndpointListOutput struct {
	Body struct {
		Endpoints []WebhookEndpoint `json:"endpoints"`
	}
}

// RotatedSecretOutput is the new secret.
type RotatedSecretOutput struct {
	Body struct {
		Secret               string    `json:"secret" doc:"The new signing secret, shown only now."`
		PreviousSecretExpiry time.Time `json:"previous_secret_expires_at" doc:"Until then deliveries carry a signature by the old and by the new secret."`
	}
}

// TestEventOutput says which test delivery started.
type TestEventOutput struct {
	Body struct {
		EventID   uuid.UUID `json:"event_id"`
		WebhookID string    `json:"webhook_id" example:"msg_0193a5b0-7c1e-7d2a-9f00-1b2c3d4e5f60" doc:"The webhook-id header the delivery carries."`
	}
}

func (h *webhooks) createEndpoint(ctx context.Context, in *CreateWebhookEndpointInput) (*CreatedWebhookEndpointOutput, error) {
	ep, secret, err := h.svc.CreateEndpoint(ctx, integratorFrom(ctx), service.EndpointSpec{
		URL: in.Body.URL, Description: in.Body.Description, EventTypes: in.Body.EventTypes, MaxInFlight: in.Body.MaxInFlight,
	})
	if err != nil {
		return nil, err
	}
	out := &CreatedWebhookEndpointOutput{}
	out.Body.WebhookEndpoint, out.Body.Secret = webhookEndpoint(ep), secret
	return out, nil
}

func (h *webhooks) listEndpoints(ctx context.Context, _ *struct{}) (*WebhookEndpointListOutput, error) {
	eps, err := h.svc.ListEndpoints(ctx, integratorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &WebhookEndpointListOutput{}
	out.Body.Endpoints = make([]WebhookEndpoint, len(eps))
	for i := range eps {
		out.Body.Endpoints[i] = webhookEndpoint(&eps[i])
	}
	return out, nil
}

func (h *webhooks) getEndpoint(ctx context.Context, in *WebhookEndpointIDInput) (*WebhookEndpointOutput, error) {
	ep, err := h.svc.GetEndpoint(ctx, integratorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &WebhookEndpointOutput{Body: webhookEndpoint(ep)}, nil
}

func (h *webhooks) updateEndpoint(ctx context.Context, in *UpdateWebhookEndpointInput) (*WebhookEndpointOutput, error) {
	ep, err := h.svc.UpdateEndpoint(ctx, integratorFrom(ctx), in.ID, service.EndpointChange{
		URL: in.Body.URL, Description: in.Body.Description, EventTypes: in.Body.EventTypes,
		MaxInFlight: in.Body.MaxInFlight, Enabled: in.Body.Enabled,
	})
	if err != nil {
		return nil, err
	}
	return &WebhookEndpointOutput{Body: webhookEndpoint(ep)}, nil
}

func (h *webhooks) deleteEndpoint(ctx context.Context, in *WebhookEndpointIDInput) (*struct{}, error) {
	return nil, h.svc.DeleteEndpoint(ctx, integratorFrom(ctx), in.ID)
}

func (h *webhooks) rotateSecret(ctx context.Context, in *WebhookEndpointIDBodyInput) (*RotatedSecretOutput, error) {
	secret, expiry, err := h.svc.RotateSecret(ctx, integratorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	out := &RotatedSecretOutput{}
	out.Body.Secret, out.Body.PreviousSecretExpiry = secret, expiry
	return out, nil
}

func (h *webhooks) sendTest(ctx context.Context, in *WebhookEndpointIDBodyInput) (*TestEventOutput, error) {
	sent, err := h.svc.SendTestEvent(ctx, integratorFrom(ctx), in.ID, logging.RequestID(ctx))
	if err != nil {
		return nil, err
	}
	out := &TestEventOutput{}
	out.Body.EventID, out.Body.WebhookID = sent.EventID, webhook.WebhookID(sent.DeliveryID)
	return out, nil
}

// WebhookAttempt is one HTTP attempt of a delivery.
type WebhookAttempt struct {
	DeliveryID   uuid.UUID  `json:"delivery_id" doc:"The attempt's X-RD-Delivery-Id: fresh per attempt."`
	Generation   int        `json:"generation" doc:"1, plus one per replay."`
	Seq          int        `json:"seq" doc:"Attempt number within its generation, 1 to 8."`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	DurationMS   *int       `json:"duration_ms,omitempty"`
	StatusCode   *int       `json:"status_code,omitempty" doc:"The receiver's answer; absent when there was none."`
	ResponseBody string     `json:"response_body,omitempty" doc:"The first 20 KB of the receiver's answer."`
	Error        string     `json:"error,omitempty" doc:"Why there was no answer: timeout, refused address, lost worker."`
}

// WebhookDelivery is one event for one endpoint, with every attempt.
type WebhookDelivery struct {
	ID             uuid.UUID        `json:"id" doc:"The delivery_root_id; the workflow is webhook-{id}."`
	WebhookID      string           `json:"webhook_id" doc:"The webhook-id header: stable across retries and replays."`
	EndpointID     uuid.UUID        `json:"endpoint_id"`
	Integrator     string           `json:"integrator"`
	EventID        uuid.UUID        `json:"event_id"`
	EventType      string           `json:"event_type"`
	SubjectID      string           `json:"subject_id" doc:"What the event is about, such as a task_id."`
	RequestID      string           `json:"request_id" doc:"The inbound request the event traces back to."`
	Status         string           `json:"status" enum:"pending,delivering,succeeded,dead_lettered,cancelled"`
	Generation     int              `json:"generation"`
	AttemptCount   int              `json:"attempt_count"`
	NextAttemptAt  *time.Time       `json:"next_attempt_at,omitempty"`
	LastStatusCode *int             `json:"last_status_code,omitempty"`
	LastError      string           `json:"last_error,omitempty"`
	QueuedAt       *time.Time       `json:"queued_at,omitempty" doc:"Set while waiting for one of the endpoint's send slots."`
	CreatedAt      time.Time        `json:"created_at"`
	CompletedAt    *time.Time       `json:"completed_at,omitempty"`
	Attempts       []WebhookAttempt `json:"attempts"`
}

func webhookDelivery(d *service.DeliveryDetail) WebhookDelivery {
	out := WebhookDelivery{
		ID: d.ID, WebhookID: webhook.WebhookID(d.ID), EndpointID: d.EndpointID, Integrator: d.Event.Integrator,
		EventID: d.EventID, EventType: d.Event.Type, SubjectID: d.Event.SubjectID, RequestID: d.Event.RequestID,
		Status: string(d.Status), Generation: d.Generation, AttemptCount: d.AttemptCount, NextAttemptAt: d.NextAttemptAt,
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, QueuedAt: d.QueuedAt, CreatedAt: d.CreatedAt,
		CompletedAt: d.CompletedAt, Attempts: make([]WebhookAttempt, len(d.Attempts)),
	}
	for i, a := range d.Attempts {
		out.Attempts[i] = WebhookAttempt{
			DeliveryID: a.ID, Generation: a.Generation, Seq: a.Seq, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt,
			DurationMS: a.DurationMS, StatusCode: a.StatusCode, ResponseBody: a.ResponseBody, Error: a.Error,
		}
	}
	return out
}

// ListWebhookDeliveriesInput filters deliveries.
type ListWebhookDeliveriesInput struct {
	EndpointID uuid.UUID `query:"endpoint_id" doc:"Only this endpoint's deliveries."`
	Status     string    `query:"status" enum:"pending,delivering,succeeded,dead_lettered,cancelled" doc:"Only deliveries with this status."`
	Since      time.Time `query:"since" doc:"Only deliveries created at or after this time."`
	Before     uuid.UUID `query:"before" doc:"Page cursor: the id of the last delivery of the previous page."`
	Limit      int       `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

// WebhookDeliveryListOutput is a page of deliveries, newest first.
type WebhookDeliveryListOutput struct {
	Body struct {
		Deliveries []WebhookDelivery `json:"deliveries"`
		NextBefore *uuid.UUID        `json:"next_before,omitempty" doc:"Pass as before for the next page; absent on the last."`
	}
}

// WebhookDeliveryIDInput addresses one delivery.
type WebhookDeliveryIDInput struct {
	ID uuid.UUID `path:"id" doc:"The delivery's id (webhook-id without its msg_ prefix)."`
}

// WebhookDeliveryOutput is one delivery.
type WebhookDeliveryOutput struct {
	Body WebhookDelivery
}

// RecoverWebhookEndpointInput replays an endpoint's dead letters.
type RecoverWebhookEndpointInput struct {
	ID   uuid.UUID `path:"id" doc:"The endpoint's id."`
	Body struct {
		Since time.Time `json:"since" doc:"Replay dead letters of deliveries created at or after this time."`
	}
}

// RecoverWebhookEndpointOutput says how many deliveries were replayed.
type RecoverWebhookEndpointOutput struct {
	Body struct {
		Replayed int `json:"replayed"`
	}
}

func (h *webhooks) listDeliveries(ctx context.Context, in *ListWebhookDeliveriesInput) (*WebhookDeliveryListOutput, error) {
	ds, err := h.svc.ListDeliveries(ctx, store.WebhookDeliveryFilter{
		EndpointID: in.EndpointID, Status: store.WebhookDeliveryStatus(in.Status), Since: in.Since, Before: in.Before, Limit: in.Limit,
	})
	if err != nil {
		return nil, err
	}
	out := &WebhookDeliveryListOutput{}
	out.Body.Deliveries = make([]WebhookDelivery, len(ds))
	for i := range ds {
		out.Body.Deliveries[i] = webhookDelivery(&ds[i])
	}
	if len(ds) == in.Limit {
		last := ds[len(ds)-1].ID
		out.Body.NextBefore = &last
	}
	return out, nil
}

func (h *webhooks) getDelivery(ctx context.Context, in *WebhookDeliveryIDInput) (*WebhookDeliveryOutput, error) {
	d, err := h.svc.GetDelivery(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &WebhookDeliveryOutput{Body: webhookDelivery(d)}, nil
}

func (h *webhooks) replayDelivery(ctx context.Context, in *WebhookDeliveryIDInput) (*WebhookDeliveryOutput, error) {
	if _, err := h.svc.ReplayDelivery(ctx, in.ID); err != nil {
		return nil, err
	}
	return h.getDelivery(ctx, in)
}

func (h *webhooks) recoverEndpoint(ctx context.Context, in *RecoverWebhookEndpointInput) (*RecoverWebhookEndpointOutput, error) {
	n, err := h.svc.RecoverEndpoint(ctx, in.ID, in.Body.Since)
	if err != nil {
		return nil, err
	}
	out := &RecoverWebhookEndpointOutput{}
	out.Body.Replayed = n
	return out, nil
}

// documentWebhookEvents adds each event type to the OpenAPI document's
// webhooks section (OpenAPI 3.1): the request RD sends, its headers and
// its body schema, so integrators can generate their receivers' types.
func documentWebhookEvents(api huma.API) {
	oapi := api.OpenAPI()
	if oapi.Webhooks == nil {
		oapi.Webhooks = map[string]*huma.PathItem{}
	}
	reg := oapi.Components.Schemas
	headers := []*huma.Param{
		{Name: signing.HeaderID, In: "header", Required: true, Schema: &huma.Schema{Type: "string"},
			Description: "msg_{delivery id}: the same on every retry and replay of this delivery. Deduplicate on it.", Example: "msg_0193a5b0-7c1e-7d2a-9f00-1b2c3d4e5f60"},
		{Name: signing.HeaderTimestamp, In: "header", Required: true, Schema: &huma.Schema{Type: "string"},
			Description: "Unix seconds when this attempt was signed.", Example: "1764720000"},
		{Name: signing.HeaderSignature, In: "header", Required: true, Schema: &huma.Schema{Type: "string"},
			Description: "Space-separated `v1,<base64 HMAC-SHA256 of webhook-id.webhook-timestamp.body>`, one per valid secret (two during a rotation)."},
		{Name: signing.HeaderRDSignature, In: "header", Required: true, Schema: &huma.Schema{Type: "string"},
			Description: "`sha256=<hex HMAC-SHA256 of the raw body>` with the newest secret (legacy; prefer webhook-signature)."},
		{Name: webhook.HeaderDeliveryID, In: "header", Required: true, Schema: &huma.Schema{Type: "string", Format: "uuid"},
			Description: "This attempt's delivery_id: fresh on every attempt."},
		{Name: webhook.HeaderEvent, In: "header", Required: true, Schema: &huma.Schema{Type: "string"},
			Description: "The event type, as in the body."},
	}
	for _, typ := range append(append([]webhook.EventType{}, webhook.SubscribableEvents...), webhook.EventWebhookTest) {
		data := reg.Schema(reflect.TypeOf(webhook.Payloads[typ]), true, "")
		body := &huma.Schema{
			Type:     "object",
			Required: []string{"id", "type", "created", "data"},
			Properties: map[string]*huma.Schema{
				"id":      {Type: "string", Format: "uuid", Description: "The event's id."},
				"type":    {Type: "string", Enum: []any{string(typ)}},
				"created": {Type: "string", Format: "date-time", Description: "When RD recorded the event."},
				"data":    data,
			},
		}
		oapi.Webhooks[string(typ)] = &huma.PathItem{Post: &huma.Operation{
			OperationID: "webhook-" + strings.ReplaceAll(strings.ToLower(string(typ)), "_", "-"),
			Summary:     string(typ),
			Description: webhook.Descriptions[typ] + "\n\nVerify the signature before trusting the body; see docs/webhooks.md.",
			Tags:        []string{"webhook events"},
			Parameters:  headers,
			RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {Schema: body}}},
			Responses: map[string]*huma.Response{
				"200":     {Description: "Any 2xx acknowledges the delivery. Answer within 10 s; do the work later."},
				"410":     {Description: "Gone: RD disables the endpoint and cancels its pending deliveries."},
				"429":     {Description: "Slow down: a Retry-After between 1x and 2x the scheduled wait (at least 60 s) is honoured."},
				"default": {Description: "Anything else (including redirects and timeouts) fails the attempt; RD retries on its schedule."},
			},
		}}
	}
}

// webhookAPIErrors lists the error statuses of the integrator operations.
var webhookAPIErrors = []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity}
