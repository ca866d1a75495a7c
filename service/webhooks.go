package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/reviewdata/rd/internal/netguard"
	"github.com/reviewdata/rd/internal/secrets"
	"github.com/reviewdata/rd/internal/signing"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/store"
)

// SecretOverlap is how long a rotated-out signing secret keeps signing, so
// integrators can switch to the new one without rejecting a delivery.
const SecretOverlap = 24 * time.Hour

// DeliveryStarter starts and stops delivery workflows; *webhook.Starter is
// the implementation, tests substitute a recorder.
type DeliveryStarter interface {
	Start(ctx context.Context, d webhook.Delivery) error
	Resume(ctx context.Context, d webhook.Delivery) error
	Restart(ctx context.Context, d webhook.Delivery) error
	Cancel(ctx context.Context, deliveryID uuid.UUID) error
}

// WebhooksConfig tunes the webhook service.
type WebhooksConfig struct {
	// AllowPrivate lets endpoints point at loopback and private networks.
	// Defaults to false; only the dev stack sets it.
	AllowPrivate bool
}

// Webhooks is what integrators and operators do with webhooks: integrators
// manage their endpoints (create, list, update, delete, rotate the secret,
// send a test event), operators inspect deliveries and replay dead letters.
type Webhooks struct {
	Store   *store.Store
	Secrets *secrets.Keyring
	Starter DeliveryStarter
	Config  WebhooksConfig
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
}

func (s *Webhooks) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// EndpointSpec is a new endpoint.
type EndpointSpec struct {
	URL         string
	Description string
	EventTypes  []string
	// MaxInFlight caps concurrent deliveries; 0 means the default (4).
	MaxInFlight int
}

// EndpointChange is a partial update; nil fields stay as they are.
type EndpointChange struct {
	URL         *string
	Description *string
	EventTypes  []string
	MaxInFlight *int
	// Enabled disables (false) or re-enables (true) the endpoint.
	Enabled *bool
}

// Endpoint is an endpoint with what its owner may know of its secrets.
type Endpoint struct {
	store.WebhookEndpoint
	// SecretRotationEndsAt is when the previous secret stops signing,
	// while a rotation's overlap lasts; nil otherwise.
	SecretRotationEndsAt *time.Time
}

// errEndpointNotFound answers every endpoint the caller does not own too:
// an integrator cannot probe for others' IDs.
var errEndpointNotFound = NotFound(CodeWebhookEndpointNotFound, "no webhook endpoint with this id")

// CreateEndpoint creates an endpoint for who with a new signing secret, and
// returns it with the secret serialized ("whsec_…"): the only time the
// secret is shown.
//
// It returns 422 WEBHOOK_URL_REFUSED for a URL RD may not call (checked on
// every address it resolves to, unless AllowPrivate), 422
// UNKNOWN_EVENT_TYPE, and 422 VALIDATION_FAILED for MaxInFlight out of 1-64.
func (s *Webhooks) CreateEndpoint(ctx context.Context, who Integrator, spec EndpointSpec) (*Endpoint, string, error) {
	types, err := eventTypes(spec.EventTypes)
	if err != nil {
		return nil, "", err
	}
	if err := checkMaxInFlight(spec.MaxInFlight, true); err != nil {
		return nil, "", err
	}
	u, err := s.checkURL(ctx, spec.URL)
	if err != nil {
		return nil, "", err
	}
	secret := signing.GenerateSecret()
	ct, err := s.Secrets.Encrypt(secret)
	if err != nil {
		return nil, "", fmt.Errorf("create webhook endpoint: %w", err)
	}
	ep := &store.WebhookEndpoint{
		Integrator: who.Name, URL: u, Description: spec.Description,
		EventTypes: types, MaxInFlight: spec.MaxInFlight,
	}
	err = s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.InsertWebhookEndpoint(ctx, tx, ep); err != nil {
			return err
		}
		return store.InsertWebhookSecret(ctx, tx, &store.WebhookSecret{EndpointID: ep.ID, Ciphertext: ct, CreatedAt: s.now()})
	})
	if err != nil {
		return nil, "", fmt.Errorf("create webhook endpoint: %w", err)
	}
	return &Endpoint{WebhookEndpoint: *ep}, secret.Encode(), nil
}

// ListEndpoints returns who's live endpoints, oldest first.
func (s *Webhooks) ListEndpoints(ctx context.Context, who Integrator) ([]Endpoint, error) {
	eps, err := store.ListWebhookEndpoints(ctx, s.Store.DB, who.Name)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	out := make([]Endpoint, len(eps))
	for i, ep := range eps {
		if out[i], err = s.withRotation(ctx, s.Store.DB, ep); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetEndpoint returns who's live endpoint id, or 404
// WEBHOOK_ENDPOINT_NOT_FOUND.
func (s *Webhooks) GetEndpoint(ctx context.Context, who Integrator, id uuid.UUID) (*Endpoint, error) {
	ep, err := s.owned(ctx, s.Store.DB, who, id, false)
	if err != nil {
		return nil, err
	}
	out, err := s.withRotation(ctx, s.Store.DB, *ep)
	return &out, err
}

// UpdateEndpoint applies change to who's endpoint id. Disabling holds its
// deliveries (recorded, not sent); enabling resumes every delivery held
// meanwhile, in order.
//
// It returns 404 WEBHOOK_ENDPOINT_NOT_FOUND and the errors CreateEndpoint
// returns for the fields it checks.
func (s *Webhooks) UpdateEndpoint(ctx context.Context, who Integrator, id uuid.UUID, change EndpointChange) (*Endpoint, error) {
	var types []string
	if change.EventTypes != nil {
		var err error
		if types, err = eventTypes(change.EventTypes); err != nil {
			return nil, err
		}
	}
	if change.MaxInFlight != nil {
		if err := checkMaxInFlight(*change.MaxInFlight, false); err != nil {
			return nil, err
		}
	}
	var u string
	if change.URL != nil {
		var err error
		if u, err = s.checkURL(ctx, *change.URL); err != nil {
			return nil, err
		}
	}
	var (
		ep      *store.WebhookEndpoint
		resumed []store.WebhookDelivery
	)
	err := s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := s.now()
		var err error
		if ep, err = s.owned(ctx, tx, who, id, true); err != nil {
			return err
		}
		var cols []string
		if change.URL != nil {
			ep.URL, cols = u, append(cols, "url")
		}
		if change.Description != nil {
			ep.Description, cols = *change.Description, append(cols, "description")
		}
		if types != nil {
			ep.EventTypes, cols = types, append(cols, "event_types")
		}
		if change.MaxInFlight != nil {
			ep.MaxInFlight, cols = *change.MaxInFlight, append(cols, "max_in_flight")
		}
		enable := change.Enabled != nil && *change.Enabled && ep.Status == store.WebhookEndpointDisabled
		disable := change.Enabled != nil && !*change.Enabled && ep.Status == store.WebhookEndpointActive
		switch {
		case enable:
			ep.Status, ep.DisabledReason, ep.DisabledAt, ep.FailingSince = store.WebhookEndpointActive, "", nil, nil
			cols = append(cols, "status", "disabled_reason", "disabled_at", "failing_since")
		case disable:
			ep.Status, ep.DisabledReason, ep.DisabledAt = store.WebhookEndpointDisabled, store.WebhookDisabledManual, &now
			cols = append(cols, "status", "disabled_reason", "disabled_at")
		}
		if err := store.UpdateWebhookEndpoint(ctx, tx, ep, now, cols...); err != nil {
			return err
		}
		if enable {
			resumed, err = store.ListPendingWebhookDeliveries(ctx, tx, ep.ID)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update webhook endpoint: %w", err)
	}
	if err := s.resume(ctx, ep, resumed); err != nil {
		return nil, err
	}
	out, err := s.withRotation(ctx, s.Store.DB, *ep)
	return &out, err
}

// resume makes sure each held delivery of a re-enabled endpoint is driven
// by a running workflow again.
func (s *Webhooks) resume(ctx context.Context, ep *store.WebhookEndpoint, ds []store.WebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	types, err := s.eventTypesOf(ctx, ds)
	if err != nil {
		return err
	}
	for _, d := range ds {
		err := s.Starter.Resume(ctx, webhook.Delivery{
			ID: d.ID, Generation: d.Generation, EndpointID: ep.ID, EventType: types[d.EventID], Integrator: ep.Integrator,
		})
		if err != nil {
			// The endpoint is enabled; the rest resume when the integrator
			// enables it again (a no-op for those already running).
			return Unavailable(CodeUnavailable, "the endpoint is enabled, but some held deliveries could not be resumed yet: enable it again to retry").WithErr(err)
		}
	}
	return nil
}

// DeleteEndpoint soft-deletes who's endpoint id: it receives nothing more,
// and its unfinished deliveries are cancelled. It returns 404
// WEBHOOK_ENDPOINT_NOT_FOUND.
func (s *Webhooks) DeleteEndpoint(ctx context.Context, who Integrator, id uuid.UUID) error {
	var cancelled []uuid.UUID
	err := s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := s.now()
		ep, err := s.owned(ctx, tx, who, id, true)
		if err != nil {
			return err
		}
		ep.DeletedAt = &now
		if err := store.UpdateWebhookEndpoint(ctx, tx, ep, now, "deleted_at"); err != nil {
			return err
		}
		cancelled, err = store.CancelWebhookDeliveries(ctx, tx, ep.ID, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete webhook endpoint: %w", err)
	}
	for _, d := range cancelled {
		// Best effort: a workflow that misses this stops at its next step,
		// finding its delivery cancelled.
		_ = s.Starter.Cancel(ctx, d)
	}
	return nil
}

// RotateSecret gives who's endpoint id a new signing secret, returned
// serialized (the only time it is shown). Every older secret keeps signing
// for SecretOverlap, until the returned time, so deliveries meanwhile carry
// a signature by each. It returns 404 WEBHOOK_ENDPOINT_NOT_FOUND.
func (s *Webhooks) RotateSecret(ctx context.Context, who Integrator, id uuid.UUID) (string, time.Time, error) {
	secret := signing.GenerateSecret()
	ct, err := s.Secrets.Encrypt(secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("rotate webhook secret: %w", err)
	}
	now := s.now()
	overlapEnds := now.Add(SecretOverlap)
	err = s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ep, err := s.owned(ctx, tx, who, id, true)
		if err != nil {
			return err
		}
		if err := store.ExpireWebhookSecrets(ctx, tx, ep.ID, overlapEnds); err != nil {
			return err
		}
		return store.InsertWebhookSecret(ctx, tx, &store.WebhookSecret{EndpointID: ep.ID, Ciphertext: ct, CreatedAt: now})
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("rotate webhook secret: %w", err)
	}
	return secret.Encode(), overlapEnds, nil
}

// TestDelivery is what SendTestEvent started.
type TestDelivery struct {
	EventID    uuid.UUID
	DeliveryID uuid.UUID
}

// SendTestEvent sends a WEBHOOK_TEST event to who's endpoint id alone,
// whatever it subscribes to, through the normal delivery path (signing,
// schedule, metering). It returns 404 WEBHOOK_ENDPOINT_NOT_FOUND and 409
// WEBHOOK_ENDPOINT_DISABLED.
func (s *Webhooks) SendTestEvent(ctx context.Context, who Integrator, id uuid.UUID, requestID string) (*TestDelivery, error) {
	ep, err := s.owned(ctx, s.Store.DB, who, id, false)
	if err != nil {
		return nil, err
	}
	if ep.Status != store.WebhookEndpointActive {
		return nil, Conflict(CodeWebhookEndpointDisabled, "the endpoint is disabled: enable it to send a test event")
	}
	data, err := json.Marshal(webhook.WebhookTest{EndpointID: ep.ID, Message: "Hello from ReviewData: this endpoint receives webhooks."})
	if err != nil {
		return nil, err
	}
	ev := &store.WebhookEvent{
		Integrator: who.Name, Type: string(webhook.EventWebhookTest), SubjectID: uuid.NewString(),
		RequestID: requestID, Payload: data,
	}
	var d store.WebhookDelivery
	err = s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := store.InsertWebhookEvent(ctx, tx, ev); err != nil {
			return err
		}
		ds, err := store.InsertWebhookDeliveries(ctx, tx, ev.ID, []uuid.UUID{ep.ID})
		if err == nil {
			d = ds[0]
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("send test event: %w", err)
	}
	err = s.Starter.Start(ctx, webhook.Delivery{
		ID: d.ID, Generation: d.Generation, EndpointID: ep.ID, EventType: webhook.EventWebhookTest, Integrator: who.Name,
	})
	if err != nil {
		return nil, Unavailable(CodeUnavailable, "the test event is recorded but could not be started; try again").WithErr(err)
	}
	return &TestDelivery{EventID: ev.ID, DeliveryID: d.ID}, nil
}

// DeliveryDetail is a delivery with its event and every attempt, for
// operators.
type DeliveryDetail struct {
	store.WebhookDelivery
	Event    store.WebhookEvent
	Attempts []store.WebhookAttempt
}

// ListDeliveries returns deliveries matching f, newest first, each with its
// event and attempts.
func (s *Webhooks) ListDeliveries(ctx context.Context, f store.WebhookDeliveryFilter) ([]DeliveryDetail, error) {
	ds, err := store.ListWebhookDeliveries(ctx, s.Store.DB, f)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return s.details(ctx, ds)
}

// GetDelivery returns one delivery with its event and attempts, or 404
// WEBHOOK_DELIVERY_NOT_FOUND.
func (s *Webhooks) GetDelivery(ctx context.Context, id uuid.UUID) (*DeliveryDetail, error) {
	d, err := store.GetWebhookDelivery(ctx, s.Store.DB, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, NotFound(CodeWebhookDeliveryNotFound, "no webhook delivery with this id")
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook delivery: %w", err)
	}
	out, err := s.details(ctx, []store.WebhookDelivery{*d})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

func (s *Webhooks) details(ctx context.Context, ds []store.WebhookDelivery) ([]DeliveryDetail, error) {
	if len(ds) == 0 {
		return []DeliveryDetail{}, nil
	}
	ids := make([]uuid.UUID, len(ds))
	eventIDs := make([]uuid.UUID, len(ds))
	for i, d := range ds {
		ids[i], eventIDs[i] = d.ID, d.EventID
	}
	var events []store.WebhookEvent
	if err := s.Store.DB.NewSelect().Model(&events).Where("id IN (?)", bun.In(eventIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load webhook events: %w", err)
	}
	byID := make(map[uuid.UUID]store.WebhookEvent, len(events))
	for _, ev := range events {
		byID[ev.ID] = ev
	}
	attempts, err := store.ListWebhookAttempts(ctx, s.Store.DB, ids)
	if err != nil {
		return nil, err
	}
	byDelivery := make(map[uuid.UUID][]store.WebhookAttempt, len(ds))
	for _, a := range attempts {
		byDelivery[a.DeliveryRootID] = append(byDelivery[a.DeliveryRootID], a)
	}
	out := make([]DeliveryDetail, len(ds))
	for i, d := range ds {
		out[i] = DeliveryDetail{WebhookDelivery: d, Event: byID[d.EventID], Attempts: byDelivery[d.ID]}
	}
	return out, nil
}

// ReplayDelivery sends a dead-lettered delivery again: a new generation
// with a fresh schedule, the same webhook-id, re-signed with the endpoint's
// current secrets, each attempt with a fresh delivery_id. A replay that was
// recorded but whose workflow did not start can be asked for again.
//
// It returns 404 WEBHOOK_DELIVERY_NOT_FOUND (also for a deleted endpoint's
// delivery), 409 WEBHOOK_DELIVERY_NOT_DEAD_LETTERED and 409
// WEBHOOK_ENDPOINT_DISABLED.
func (s *Webhooks) ReplayDelivery(ctx context.Context, id uuid.UUID) (*store.WebhookDelivery, error) {
	var (
		d  *store.WebhookDelivery
		ep *store.WebhookEndpoint
		ev *store.WebhookEvent
	)
	err := s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		d, ep, ev, err = s.rearm(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("replay webhook delivery: %w", err)
	}
	if err := s.restart(ctx, d, ep, ev); err != nil {
		return nil, err
	}
	return d, nil
}

// RecoverEndpoint replays every dead-lettered delivery of the endpoint
// created at or after since, oldest first, and returns how many. It returns
// 404 WEBHOOK_ENDPOINT_NOT_FOUND and 409 WEBHOOK_ENDPOINT_DISABLED.
func (s *Webhooks) RecoverEndpoint(ctx context.Context, endpointID uuid.UUID, since time.Time) (int, error) {
	ep, err := store.GetWebhookEndpoint(ctx, s.Store.DB, endpointID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ep.DeletedAt != nil) {
		return 0, errEndpointNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("recover webhook endpoint: %w", err)
	}
	if ep.Status != store.WebhookEndpointActive {
		return 0, Conflict(CodeWebhookEndpointDisabled, "the endpoint is disabled: enable it before recovering its deliveries")
	}
	var ids []uuid.UUID
	err = s.Store.DB.NewSelect().Model((*store.WebhookDelivery)(nil)).Column("id").
		Where("endpoint_id = ?", endpointID).
		Where("status = ?", store.WebhookDeliveryDeadLettered).
		Where("created_at >= ?", since).
		OrderExpr("created_at, id").
		Scan(ctx, &ids)
	if err != nil {
		return 0, fmt.Errorf("recover webhook endpoint: %w", err)
	}
	n := 0
	for _, id := range ids {
		if _, err := s.ReplayDelivery(ctx, id); err != nil {
			var se *Error
			if errors.As(err, &se) && se.Code == CodeWebhookDeliveryNotDeadLettered {
				continue // replayed meanwhile by someone else
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// rearm moves a dead-lettered delivery to a new pending generation, inside
// tx, and returns it with its endpoint and event.
func (s *Webhooks) rearm(ctx context.Context, tx bun.Tx, id uuid.UUID) (*store.WebhookDelivery, *store.WebhookEndpoint, *store.WebhookEvent, error) {
	now := s.now()
	found, err := store.GetWebhookDelivery(ctx, tx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, NotFound(CodeWebhookDeliveryNotFound, "no webhook delivery with this id")
	}
	if err != nil {
		return nil, nil, nil, err
	}
	ep, err := store.LockWebhookEndpoint(ctx, tx, found.EndpointID)
	if err != nil {
		return nil, nil, nil, err
	}
	if ep.DeletedAt != nil {
		return nil, nil, nil, NotFound(CodeWebhookDeliveryNotFound, "the delivery's endpoint was deleted")
	}
	d, err := store.LockWebhookDelivery(ctx, tx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	switch {
	case ep.Status != store.WebhookEndpointActive:
		return nil, nil, nil, Conflict(CodeWebhookEndpointDisabled, "the endpoint is disabled: enable it before replaying its deliveries")
	case d.Status == store.WebhookDeliveryDeadLettered:
		d.Generation++
		d.Status, d.CompletedAt, d.NextAttemptAt = store.WebhookDeliveryPending, nil, nil
		if err := store.UpdateWebhookDelivery(ctx, tx, d, now, "generation", "status", "completed_at", "next_attempt_at"); err != nil {
			return nil, nil, nil, err
		}
	case d.Status == store.WebhookDeliveryPending && d.Generation > 1:
		// A replay already recorded: if its run has not made an attempt,
		// starting it again is what the caller wants.
		n, err := store.CountWebhookAttempts(ctx, tx, d.ID, d.Generation)
		if err != nil {
			return nil, nil, nil, err
		}
		if n > 0 {
			return nil, nil, nil, notDeadLettered(d)
		}
	default:
		return nil, nil, nil, notDeadLettered(d)
	}
	ev, err := store.GetWebhookEvent(ctx, tx, d.EventID)
	if err != nil {
		return nil, nil, nil, err
	}
	return d, ep, ev, nil
}

func notDeadLettered(d *store.WebhookDelivery) *Error {
	return Conflict(CodeWebhookDeliveryNotDeadLettered, "only a dead-lettered delivery can be replayed").
		WithDetails(map[string]any{"status": string(d.Status)})
}

func (s *Webhooks) restart(ctx context.Context, d *store.WebhookDelivery, ep *store.WebhookEndpoint, ev *store.WebhookEvent) error {
	err := s.Starter.Restart(ctx, webhook.Delivery{
		ID: d.ID, Generation: d.Generation, EndpointID: ep.ID, EventType: webhook.EventType(ev.Type), Integrator: ep.Integrator,
	})
	if err != nil {
		return Unavailable(CodeUnavailable, "the replay is recorded but could not be started: replay it again").WithErr(err)
	}
	return nil
}

// owned returns who's live endpoint id (locked when lock is set), or 404.
func (s *Webhooks) owned(ctx context.Context, db bun.IDB, who Integrator, id uuid.UUID, lock bool) (*store.WebhookEndpoint, error) {
	get := store.GetWebhookEndpoint
	if lock {
		get = store.LockWebhookEndpoint
	}
	ep, err := get(ctx, db, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (ep.Integrator != who.Name || ep.DeletedAt != nil)) {
		return nil, errEndpointNotFound
	}
	if err != nil {
		return nil, err
	}
	return ep, nil
}

// withRotation adds the end of a running secret rotation's overlap.
func (s *Webhooks) withRotation(ctx context.Context, db bun.IDB, ep store.WebhookEndpoint) (Endpoint, error) {
	out := Endpoint{WebhookEndpoint: ep}
	valid, err := store.ListValidWebhookSecrets(ctx, db, ep.ID, s.now())
	if err != nil {
		return out, err
	}
	for _, sec := range valid {
		if sec.ExpiresAt != nil && (out.SecretRotationEndsAt == nil || sec.ExpiresAt.After(*out.SecretRotationEndsAt)) {
			out.SecretRotationEndsAt = sec.ExpiresAt
		}
	}
	return out, nil
}

func (s *Webhooks) eventTypesOf(ctx context.Context, ds []store.WebhookDelivery) (map[uuid.UUID]webhook.EventType, error) {
	ids := make([]uuid.UUID, len(ds))
	for i, d := range ds {
		ids[i] = d.EventID
	}
	var events []store.WebhookEvent
	if err := s.Store.DB.NewSelect().Model(&events).Column("id", "type").Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load webhook events: %w", err)
	}
	out := make(map[uuid.UUID]webhook.EventType, len(events))
	for _, ev := range events {
		out[ev.ID] = webhook.EventType(ev.Type)
	}
	return out, nil
}

// checkURL refuses a URL RD may not call, naming the reason, and returns
// it normalised (as url.Parse reads it: "HTTPS://…" becomes "https://…"),
// the form stored and called.
func (s *Webhooks) checkURL(ctx context.Context, raw string) (string, error) {
	if len(raw) > 2048 {
		return "", Invalid(CodeWebhookURLRefused, "the URL is longer than 2048 characters")
	}
	err := netguard.ValidateURL(ctx, raw, netguard.Config{AllowPrivate: s.Config.AllowPrivate})
	var refused *netguard.Error
	if errors.As(err, &refused) {
		return "", Invalid(CodeWebhookURLRefused, refused.Error()).WithDetails(map[string]any{"reason": refused.Reason})
	}
	if err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", Invalid(CodeWebhookURLRefused, "not a URL")
	}
	if norm := u.String(); len(norm) <= 2048 {
		return norm, nil
	}
	return "", Invalid(CodeWebhookURLRefused, "the URL is longer than 2048 characters")
}

// eventTypes validates and de-duplicates subscribed event types, keeping
// their documentation order.
func eventTypes(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, Invalid(CodeUnknownEventType, "subscribe to at least one event type").
			WithDetails(map[string]any{"event_types": webhook.SubscribableEvents})
	}
	var out []string
	for _, t := range webhook.SubscribableEvents {
		if slices.Contains(in, string(t)) {
			out = append(out, string(t))
		}
	}
	for _, t := range in {
		if !webhook.EventType(t).Subscribable() {
			return nil, Invalid(CodeUnknownEventType, fmt.Sprintf("%q is not an event type endpoints can subscribe to", t)).
				WithDetails(map[string]any{"event_types": webhook.SubscribableEvents})
		}
	}
	return out, nil
}

func checkMaxInFlight(n int, zeroOK bool) error {
	if (n == 0 && zeroOK) || (n >= 1 && n <= 64) {
		return nil
	}
	return Invalid(CodeValidationFailed, "max_in_flight must be between 1 and 64")
}
