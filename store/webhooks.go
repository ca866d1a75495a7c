package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// WebhookEndpointStatus is whether an endpoint receives deliveries.
type WebhookEndpointStatus string

// Endpoint statuses. A disabled endpoint still records deliveries for the
// events it subscribes to, but no delivery workflow runs for them until it is
// re-enabled.
const (
	WebhookEndpointActive   WebhookEndpointStatus = "active"
	WebhookEndpointDisabled WebhookEndpointStatus = "disabled"
)

// WebhookDisabledReason says why an endpoint was disabled.
type WebhookDisabledReason string

// Disabled reasons.
const (
	// WebhookDisabledGone: the endpoint answered 410 Gone.
	WebhookDisabledGone WebhookDisabledReason = "gone"
	// WebhookDisabledFailing: every attempt failed for 5 days.
	WebhookDisabledFailing WebhookDisabledReason = "failing"
	// WebhookDisabledManual: its owner disabled it.
	WebhookDisabledManual WebhookDisabledReason = "manual"
)

// DefaultWebhookMaxInFlight is an endpoint's send concurrency unless its
// owner sets another.
const DefaultWebhookMaxInFlight = 4

// WebhookEndpoint is a row of webhook_endpoints: an integrator's receiver.
type WebhookEndpoint struct {
	bun.BaseModel `bun:"table:webhook_endpoints"`

	// ID identifies the endpoint; InsertWebhookEndpoint makes a UUIDv7 when
	// it is zero.
	ID uuid.UUID `bun:"id,pk,type:uuid"`
	// Integrator owns the endpoint.
	Integrator string `bun:"integrator"`
	// URL receives the POSTs: http or https, at most 2048 characters.
	URL string `bun:"url"`
	// Description is the owner's label, possibly empty.
	Description string `bun:"description"`
	// EventTypes are the subscribed event types (at least one).
	EventTypes []string `bun:"event_types,array"`
	// Status is active or disabled.
	Status WebhookEndpointStatus `bun:"status"`
	// DisabledReason is set exactly when Status is disabled.
	DisabledReason WebhookDisabledReason `bun:"disabled_reason,nullzero"`
	// DisabledAt is set exactly when Status is disabled.
	DisabledAt *time.Time `bun:"disabled_at"`
	// MaxInFlight caps concurrent sends to the endpoint (1 to 64).
	// InsertWebhookEndpoint uses DefaultWebhookMaxInFlight when it is zero.
	MaxInFlight int `bun:"max_in_flight"`
	// FailingSince is the first failed attempt since the last success.
	FailingSince *time.Time `bun:"failing_since"`
	// CreatedAt and UpdatedAt are set by the database on insert; updates
	// set UpdatedAt.
	CreatedAt time.Time `bun:"created_at,nullzero"`
	UpdatedAt time.Time `bun:"updated_at,nullzero"`
	// DeletedAt is the soft-delete time; nil while live.
	DeletedAt *time.Time `bun:"deleted_at"`
}

// InsertWebhookEndpoint inserts ep and fills in the ID, defaults and times
// the row got. An empty Status means active.
//
// It returns an error wrapping ErrInvalid when the URL, event types, status
// or MaxInFlight break the schema (the constraint name says which).
func InsertWebhookEndpoint(ctx context.Context, db bun.IDB, ep *WebhookEndpoint) error {
	if err := ensureID(&ep.ID); err != nil {
		return fmt.Errorf("store: insert webhook endpoint: %w", err)
	}
	if ep.Status == "" {
		ep.Status = WebhookEndpointActive
	}
	if ep.MaxInFlight == 0 {
		ep.MaxInFlight = DefaultWebhookMaxInFlight
	}
	if _, err := db.NewInsert().Model(ep).Returning("*").Exec(ctx); err != nil {
		return fmt.Errorf("store: insert webhook endpoint: %w", interpretError(err))
	}
	return nil
}

// GetWebhookEndpoint returns the endpoint with id, soft-deleted or not.
//
// It returns an error wrapping ErrNotFound when there is none.
func GetWebhookEndpoint(ctx context.Context, db bun.IDB, id uuid.UUID) (*WebhookEndpoint, error) {
	ep := new(WebhookEndpoint)
	if err := db.NewSelect().Model(ep).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: get webhook endpoint: %w", interpretError(err))
	}
	return ep, nil
}

// LockWebhookEndpoint returns the endpoint with id, soft-deleted or not,
// locked FOR UPDATE until the caller's transaction ends. Every change to an
// endpoint's deliveries that depends on the endpoint's state (claiming a send
// slot, disabling, cancelling) locks the endpoint first, so they serialize
// per endpoint and always take locks in the same order.
//
// It returns an error wrapping ErrNotFound when there is none.
func LockWebhookEndpoint(ctx context.Context, db bun.IDB, id uuid.UUID) (*WebhookEndpoint, error) {
	ep := new(WebhookEndpoint)
	if err := db.NewSelect().Model(ep).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: lock webhook endpoint: %w", interpretError(err))
	}
	return ep, nil
}

// ListWebhookEndpoints returns integrator's live endpoints, oldest first.
func ListWebhookEndpoints(ctx context.Context, db bun.IDB, integrator string) ([]WebhookEndpoint, error) {
	var eps []WebhookEndpoint
	err := db.NewSelect().Model(&eps).
		Where("integrator = ?", integrator).
		Where("deleted_at IS NULL").
		OrderExpr("created_at, id").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook endpoints: %w", interpretError(err))
	}
	return eps, nil
}

// ListSubscribedWebhookEndpoints returns integrator's live endpoints, active
// or disabled, that subscribe to eventType, oldest first, locked FOR SHARE
// until the caller's transaction ends: a concurrent re-enable, disable or
// delete (which lock the endpoint FOR UPDATE) then waits for the fan-out to
// commit, and so sees the deliveries it created.
func ListSubscribedWebhookEndpoints(ctx context.Context, db bun.IDB, integrator, eventType string) ([]WebhookEndpoint, error) {
	var eps []WebhookEndpoint
	err := db.NewSelect().Model(&eps).
		Where("integrator = ?", integrator).
		Where("deleted_at IS NULL").
		Where("? = ANY(event_types)", eventType).
		OrderExpr("created_at, id").
		For("SHARE").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list subscribed webhook endpoints: %w", interpretError(err))
	}
	return eps, nil
}

// ListLiveWebhookEndpoints returns the live endpoints among ids, active or
// disabled, whatever they subscribe to now, oldest first.
func ListLiveWebhookEndpoints(ctx context.Context, db bun.IDB, ids []uuid.UUID) ([]WebhookEndpoint, error) {
	var eps []WebhookEndpoint
	if len(ids) == 0 {
		return eps, nil
	}
	err := db.NewSelect().Model(&eps).
		Where("id IN (?)", bun.In(ids)).
		Where("deleted_at IS NULL").
		OrderExpr("created_at, id").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list live webhook endpoints: %w", interpretError(err))
	}
	return eps, nil
}

// UpdateWebhookEndpoint writes the named columns of ep (and updated_at, set
// to at) to the live endpoint with ep.ID, and reloads ep from the row.
//
// It returns an error wrapping ErrNotFound when no live endpoint has the ID,
// and ErrInvalid when the new values break the schema.
func UpdateWebhookEndpoint(ctx context.Context, db bun.IDB, ep *WebhookEndpoint, at time.Time, columns ...string) error {
	ep.UpdatedAt = at
	res, err := db.NewUpdate().Model(ep).
		Column(append(columns, "updated_at")...).
		WherePK().
		Where("deleted_at IS NULL").
		Returning("*").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: update webhook endpoint: %w", interpretError(err))
	}
	if err := requireOneRow(res); err != nil {
		return fmt.Errorf("store: update webhook endpoint %s: %w", ep.ID, err)
	}
	return nil
}

// DisableWebhookEndpoint disables the endpoint with id for reason as of at,
// if it is live and active, and reports whether it did. Disabling a disabled
// endpoint keeps its first reason.
func DisableWebhookEndpoint(ctx context.Context, db bun.IDB, id uuid.UUID, reason WebhookDisabledReason, at time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*WebhookEndpoint)(nil)).
		Set("status = ?", WebhookEndpointDisabled).
		Set("disabled_reason = ?", reason).
		Set("disabled_at = ?", at).
		Set("updated_at = ?", at).
		Where("id = ?", id).
		Where("status = ?", WebhookEndpointActive).
		Where("deleted_at IS NULL").
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: disable webhook endpoint: %w", interpretError(err))
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// SetWebhookEndpointFailing records a failed attempt on the endpoint at at:
// FailingSince becomes at unless it is already set. It returns FailingSince
// as stored.
func SetWebhookEndpointFailing(ctx context.Context, db bun.IDB, id uuid.UUID, at time.Time) (time.Time, error) {
	var since time.Time
	err := db.NewUpdate().Model((*WebhookEndpoint)(nil)).
		Set("failing_since = COALESCE(failing_since, ?)", at).
		Where("id = ?", id).
		Returning("failing_since").
		Scan(ctx, &since)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: set webhook endpoint failing: %w", interpretError(err))
	}
	return since, nil
}

// SetWebhookEndpointHealthy records a successful attempt: FailingSince is
// cleared.
func SetWebhookEndpointHealthy(ctx context.Context, db bun.IDB, id uuid.UUID) error {
	_, err := db.NewUpdate().Model((*WebhookEndpoint)(nil)).
		Set("failing_since = NULL").
		Where("id = ?", id).
		Where("failing_since IS NOT NULL").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: set webhook endpoint healthy: %w", interpretError(err))
	}
	return nil
}

// WebhookSecret is a row of webhook_endpoint_secrets: one signing secret,
// encrypted with the secrets keyring.
type WebhookSecret struct {
	bun.BaseModel `bun:"table:webhook_endpoint_secrets"`

	// ID identifies the secret; made (UUIDv7) on insert when zero.
	ID uuid.UUID `bun:"id,pk,type:uuid"`
	// EndpointID is the endpoint the secret signs for.
	EndpointID uuid.UUID `bun:"endpoint_id,type:uuid"`
	// Ciphertext is the Fernet token of the raw secret bytes.
	Ciphertext string `bun:"secret_ciphertext"`
	// CreatedAt orders secrets: the newest signs X-RD-Signature. The
	// database's now() when zero.
	CreatedAt time.Time `bun:"created_at,nullzero"`
	// ExpiresAt is when the secret stops signing; nil while current.
	ExpiresAt *time.Time `bun:"expires_at"`
}

// InsertWebhookSecret inserts s and fills in its ID and CreatedAt.
//
// It returns an error wrapping ErrInvalid when the endpoint does not exist
// or the ciphertext is empty.
func InsertWebhookSecret(ctx context.Context, db bun.IDB, s *WebhookSecret) error {
	if err := ensureID(&s.ID); err != nil {
		return fmt.Errorf("store: insert webhook secret: %w", err)
	}
	if _, err := db.NewInsert().Model(s).Returning("*").Exec(ctx); err != nil {
		return fmt.Errorf("store: insert webhook secret: %w", interpretError(err))
	}
	return nil
}

// ListValidWebhookSecrets returns the endpoint's secrets that still sign at
// now (no expiry, or expiring after now), newest first.
func ListValidWebhookSecrets(ctx context.Context, db bun.IDB, endpointID uuid.UUID, now time.Time) ([]WebhookSecret, error) {
	var secrets []WebhookSecret
	err := db.NewSelect().Model(&secrets).
		Where("endpoint_id = ?", endpointID).
		Where("expires_at IS NULL OR expires_at > ?", now).
		OrderExpr("created_at DESC, id DESC").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook secrets: %w", interpretError(err))
	}
	return secrets, nil
}

// ExpireWebhookSecrets makes every secret of the endpoint stop signing at at
// at the latest; a secret already expiring sooner keeps its time. A
// rotation calls it before inserting the new secret.
func ExpireWebhookSecrets(ctx context.Context, db bun.IDB, endpointID uuid.UUID, at time.Time) error {
	_, err := db.NewUpdate().Model((*WebhookSecret)(nil)).
		Set("expires_at = LEAST(COALESCE(expires_at, ?), ?)", at, at).
		Where("endpoint_id = ?", endpointID).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: expire webhook secrets: %w", interpretError(err))
	}
	return nil
}

// WebhookEvent is a row of webhook_events: one event RD emitted.
type WebhookEvent struct {
	bun.BaseModel `bun:"table:webhook_events"`

	// ID identifies the event; made (UUIDv7) on insert when zero.
	ID uuid.UUID `bun:"id,pk,type:uuid"`
	// Integrator is whose endpoints receive it.
	Integrator string `bun:"integrator"`
	// Type is the event type, like DATA_RESULT.
	Type string `bun:"type"`
	// SubjectID is what the event is about, like a task_id. (Integrator,
	// Type, SubjectID) is unique: that is what makes emitting idempotent.
	SubjectID string `bun:"subject_id"`
	// RequestID is the inbound request the event traces back to.
	RequestID string `bun:"request_id"`
	// Payload is the event's "data", as JSON.
	Payload json.RawMessage `bun:"payload,type:jsonb"`
	// CreatedAt is the database's now() when zero.
	CreatedAt time.Time `bun:"created_at,nullzero"`
}

// InsertWebhookEvent stores ev unless an event with the same integrator,
// type and subject exists, and reports whether it did. Either way ev is
// filled in from the stored row, so a repeated emit gets the first event's
// ID, payload and time.
//
// It returns an error wrapping ErrInvalid when the type is unknown, a text
// field is empty or too long, or the payload is not valid JSON.
func InsertWebhookEvent(ctx context.Context, db bun.IDB, ev *WebhookEvent) (bool, error) {
	if !json.Valid(ev.Payload) {
		return false, fmt.Errorf("store: insert webhook event: %w: payload is not valid JSON", ErrInvalid)
	}
	if err := ensureID(&ev.ID); err != nil {
		return false, fmt.Errorf("store: insert webhook event: %w", err)
	}
	res, err := db.NewInsert().Model(ev).
		On("CONFLICT ON CONSTRAINT webhook_events_subject_key DO NOTHING").
		Returning("*").
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: insert webhook event: %w", interpretError(err))
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	err = db.NewSelect().Model(ev).
		Where("integrator = ? AND type = ? AND subject_id = ?", ev.Integrator, ev.Type, ev.SubjectID).
		Scan(ctx)
	if err != nil {
		return false, fmt.Errorf("store: insert webhook event: load existing: %w", interpretError(err))
	}
	return false, nil
}

// GetWebhookEvent returns the event with id.
//
// It returns an error wrapping ErrNotFound when there is none.
func GetWebhookEvent(ctx context.Context, db bun.IDB, id uuid.UUID) (*WebhookEvent, error) {
	ev := new(WebhookEvent)
	if err := db.NewSelect().Model(ev).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: get webhook event: %w", interpretError(err))
	}
	return ev, nil
}

// ensureID sets *id to a new UUIDv7 when it is zero.
func ensureID(id *uuid.UUID) error {
	if *id != uuid.Nil {
		return nil
	}
	v7, err := uuid.NewV7()
	if err != nil {
		return err
	}
	*id = v7
	return nil
}
