package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// WebhookDeliveryStatus is where a delivery stands.
type WebhookDeliveryStatus string

// Delivery statuses. pending covers waiting for the next attempt, waiting
// for a send slot (QueuedAt set) and being held while the endpoint is
// disabled; delivering means it holds a send slot.
const (
	WebhookDeliveryPending      WebhookDeliveryStatus = "pending"
	WebhookDeliveryDelivering   WebhookDeliveryStatus = "delivering"
	WebhookDeliverySucceeded    WebhookDeliveryStatus = "succeeded"
	WebhookDeliveryDeadLettered WebhookDeliveryStatus = "dead_lettered"
	WebhookDeliveryCancelled    WebhookDeliveryStatus = "cancelled"
)

// Terminal reports whether s is final for the current generation: only a
// replay (a new generation) moves a dead letter again.
func (s WebhookDeliveryStatus) Terminal() bool {
	return s == WebhookDeliverySucceeded || s == WebhookDeliveryDeadLettered || s == WebhookDeliveryCancelled
}

// WebhookDelivery is a row of webhook_deliveries: one event for one
// endpoint, delivered by the workflow webhook-{ID}.
type WebhookDelivery struct {
	bun.BaseModel `bun:"table:webhook_deliveries"`

	// ID is the delivery_root_id; the webhook-id header is msg_{ID}.
	ID uuid.UUID `bun:"id,pk,type:uuid"`
	// EventID and EndpointID say what goes where; unique together.
	EventID    uuid.UUID `bun:"event_id,type:uuid"`
	EndpointID uuid.UUID `bun:"endpoint_id,type:uuid"`
	// Status is where the delivery stands.
	Status WebhookDeliveryStatus `bun:"status"`
	// Generation is 1, plus one per replay.
	Generation int `bun:"generation"`
	// AttemptCount counts attempts over all generations.
	AttemptCount int `bun:"attempt_count"`
	// NextAttemptAt is when the next attempt is due, while pending.
	NextAttemptAt *time.Time `bun:"next_attempt_at"`
	// LastStatusCode is the last attempt's HTTP status, if it got one.
	LastStatusCode *int `bun:"last_status_code"`
	// LastError is the last attempt's error, if it got no response.
	LastError string `bun:"last_error,nullzero"`
	// QueuedAt is when the delivery started waiting for a send slot.
	QueuedAt *time.Time `bun:"queued_at"`
	// QueueSeenAt is the waiting workflow's last request for a slot.
	QueueSeenAt *time.Time `bun:"queue_seen_at"`
	// LeaseExpiresAt is when a held send slot frees itself.
	LeaseExpiresAt *time.Time `bun:"lease_expires_at"`
	// CreatedAt, UpdatedAt: the database's now() on insert.
	CreatedAt time.Time `bun:"created_at,nullzero"`
	UpdatedAt time.Time `bun:"updated_at,nullzero"`
	// CompletedAt is when the status became terminal.
	CompletedAt *time.Time `bun:"completed_at"`
}

// InsertWebhookDeliveries makes sure one delivery of the event exists for
// each endpoint, inserting the missing ones (pending, generation 1) and
// leaving existing ones alone, and returns them all in endpointIDs' order.
//
// It returns an error wrapping ErrInvalid when the event or an endpoint does
// not exist.
func InsertWebhookDeliveries(ctx context.Context, db bun.IDB, eventID uuid.UUID, endpointIDs []uuid.UUID) ([]WebhookDelivery, error) {
	if len(endpointIDs) == 0 {
		return nil, nil
	}
	rows := make([]WebhookDelivery, len(endpointIDs))
	for i, epID := range endpointIDs {
		rows[i] = WebhookDelivery{EventID: eventID, EndpointID: epID, Status: WebhookDeliveryPending, Generation: 1}
		if err := ensureID(&rows[i].ID); err != nil {
			return nil, fmt.Errorf("store: insert webhook deliveries: %w", err)
		}
	}
	_, err := db.NewInsert().Model(&rows).
		On("CONFLICT ON CONSTRAINT webhook_deliveries_event_endpoint_key DO NOTHING").
		Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: insert webhook deliveries: %w", interpretError(err))
	}
	var stored []WebhookDelivery
	err = db.NewSelect().Model(&stored).
		Where("event_id = ?", eventID).
		Where("endpoint_id IN (?)", bun.In(endpointIDs)).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: insert webhook deliveries: load: %w", interpretError(err))
	}
	byEndpoint := make(map[uuid.UUID]WebhookDelivery, len(stored))
	for _, d := range stored {
		byEndpoint[d.EndpointID] = d
	}
	out := make([]WebhookDelivery, 0, len(endpointIDs))
	for _, epID := range endpointIDs {
		if d, ok := byEndpoint[epID]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// GetWebhookDelivery returns the delivery with id.
//
// It returns an error wrapping ErrNotFound when there is none.
func GetWebhookDelivery(ctx context.Context, db bun.IDB, id uuid.UUID) (*WebhookDelivery, error) {
	d := new(WebhookDelivery)
	if err := db.NewSelect().Model(d).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: get webhook delivery: %w", interpretError(err))
	}
	return d, nil
}

// LockWebhookDelivery returns the delivery with id locked FOR UPDATE until
// the caller's transaction ends. Lock its endpoint first (see
// LockWebhookEndpoint).
//
// It returns an error wrapping ErrNotFound when there is none.
func LockWebhookDelivery(ctx context.Context, db bun.IDB, id uuid.UUID) (*WebhookDelivery, error) {
	d := new(WebhookDelivery)
	if err := db.NewSelect().Model(d).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: lock webhook delivery: %w", interpretError(err))
	}
	return d, nil
}

// UpdateWebhookDelivery writes the named columns of d, and updated_at (set
// to at), to the row with d.ID.
//
// It returns an error wrapping ErrNotFound when there is no such row, and
// ErrInvalid when the values break the schema.
func UpdateWebhookDelivery(ctx context.Context, db bun.IDB, d *WebhookDelivery, at time.Time, columns ...string) error {
	d.UpdatedAt = at
	res, err := db.NewUpdate().Model(d).Column(append(columns, "updated_at")...).WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: update webhook delivery: %w", interpretError(err))
	}
	if err := requireOneRow(res); err != nil {
		return fmt.Errorf("store: update webhook delivery %s: %w", d.ID, err)
	}
	return nil
}

// CancelWebhookDeliveries cancels the endpoint's unfinished deliveries
// (pending or delivering) as of at, and returns their IDs.
func CancelWebhookDeliveries(ctx context.Context, db bun.IDB, endpointID uuid.UUID, at time.Time) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.NewUpdate().Model((*WebhookDelivery)(nil)).
		Set("status = ?", WebhookDeliveryCancelled).
		Set("queued_at = NULL, queue_seen_at = NULL, lease_expires_at = NULL, next_attempt_at = NULL").
		Set("completed_at = ?, updated_at = ?", at, at).
		Where("endpoint_id = ?", endpointID).
		Where("status IN (?)", bun.In([]WebhookDeliveryStatus{WebhookDeliveryPending, WebhookDeliveryDelivering})).
		Returning("id").
		Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("store: cancel webhook deliveries: %w", interpretError(err))
	}
	return ids, nil
}

// ListPendingWebhookDeliveries returns the endpoint's pending deliveries,
// oldest first: after a re-enable, each needs its workflow resumed.
func ListPendingWebhookDeliveries(ctx context.Context, db bun.IDB, endpointID uuid.UUID) ([]WebhookDelivery, error) {
	var ds []WebhookDelivery
	err := db.NewSelect().Model(&ds).
		Where("endpoint_id = ?", endpointID).
		Where("status = ?", WebhookDeliveryPending).
		OrderExpr("created_at, id").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list pending webhook deliveries: %w", interpretError(err))
	}
	return ds, nil
}

// WebhookDeliveryFilter selects deliveries for ListWebhookDeliveries. Zero
// fields do not filter.
type WebhookDeliveryFilter struct {
	EndpointID uuid.UUID
	Status     WebhookDeliveryStatus
	// Since keeps deliveries created at or after it.
	Since time.Time
	// Before keeps deliveries whose ID sorts before it (UUIDv7 IDs sort by
	// creation): the cursor of the next page.
	Before uuid.UUID
	// Limit caps the rows returned. Defaults to 50.
	Limit int
}

// ListWebhookDeliveries returns deliveries matching f, newest first.
func ListWebhookDeliveries(ctx context.Context, db bun.IDB, f WebhookDeliveryFilter) ([]WebhookDelivery, error) {
	var ds []WebhookDelivery
	q := db.NewSelect().Model(&ds).OrderExpr("id DESC")
	if f.EndpointID != uuid.Nil {
		q = q.Where("endpoint_id = ?", f.EndpointID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", f.Since)
	}
	if f.Before != uuid.Nil {
		q = q.Where("id < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if err := q.Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list webhook deliveries: %w", interpretError(err))
	}
	return ds, nil
}

// CountWebhookLeases counts the endpoint's deliveries that hold a send slot
// at now, leaving out exclude (the asker itself).
func CountWebhookLeases(ctx context.Context, db bun.IDB, endpointID uuid.UUID, now time.Time, exclude uuid.UUID) (int, error) {
	n, err := db.NewSelect().Model((*WebhookDelivery)(nil)).
		Where("endpoint_id = ?", endpointID).
		Where("status = ?", WebhookDeliveryDelivering).
		Where("lease_expires_at > ?", now).
		Where("id <> ?", exclude).
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count webhook leases: %w", interpretError(err))
	}
	return int(n), nil
}

// CountWebhookWaitersAhead counts the deliveries waiting for a send slot of
// d's endpoint ahead of d (queued earlier, ties broken by ID) whose workflow
// asked again after staleBefore. A waiter whose workflow stopped asking
// (terminated by hand, say) thus stops blocking the queue.
func CountWebhookWaitersAhead(ctx context.Context, db bun.IDB, d *WebhookDelivery, staleBefore time.Time) (int, error) {
	n, err := db.NewSelect().Model((*WebhookDelivery)(nil)).
		Where("endpoint_id = ?", d.EndpointID).
		Where("status = ?", WebhookDeliveryPending).
		Where("queued_at IS NOT NULL").
		Where("(queued_at, id) < (?, ?)", d.QueuedAt, d.ID).
		Where("queue_seen_at > ?", staleBefore).
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count webhook waiters: %w", interpretError(err))
	}
	return int(n), nil
}

// ListWebhookWaiters returns up to limit deliveries at the head of the
// endpoint's queue for a send slot (see CountWebhookWaitersAhead).
func ListWebhookWaiters(ctx context.Context, db bun.IDB, endpointID uuid.UUID, staleBefore time.Time, limit int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.NewSelect().Model((*WebhookDelivery)(nil)).
		Column("id").
		Where("endpoint_id = ?", endpointID).
		Where("status = ?", WebhookDeliveryPending).
		Where("queued_at IS NOT NULL").
		Where("queue_seen_at > ?", staleBefore).
		OrderExpr("queued_at, id").
		Limit(int64(limit)).
		Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook waiters: %w", interpretError(err))
	}
	return ids, nil
}

// WebhookAttempt is a row of webhook_attempts: one HTTP attempt.
type WebhookAttempt struct {
	bun.BaseModel `bun:"table:webhook_attempts"`

	// ID is the attempt's delivery_id (X-RD-Delivery-Id); made (UUIDv7) on
	// insert when zero.
	ID uuid.UUID `bun:"id,pk,type:uuid"`
	// DeliveryRootID is the delivery the attempt belongs to.
	DeliveryRootID uuid.UUID `bun:"delivery_root_id,type:uuid"`
	// Generation and Seq place the attempt: the Seq-th attempt of the
	// delivery's Generation-th run of the schedule.
	Generation int `bun:"generation"`
	Seq        int `bun:"seq"`
	// ClaimedAt is when the attempt got its send slot.
	ClaimedAt time.Time `bun:"claimed_at,nullzero"`
	// StartedAt is when the request went out; nil if it never did.
	StartedAt *time.Time `bun:"started_at"`
	// FinishedAt is when the outcome was recorded; nil while in progress.
	FinishedAt *time.Time `bun:"finished_at"`
	// DurationMS is how long the request took.
	DurationMS *int `bun:"duration_ms"`
	// StatusCode is the response status, if there was a response.
	StatusCode *int `bun:"status_code"`
	// ResponseBody is the first 20 KB of the response body, as UTF-8.
	ResponseBody string `bun:"response_body,nullzero"`
	// Error says why there was no response, or why the attempt was
	// abandoned.
	Error string `bun:"error,nullzero"`
}

// InsertWebhookAttempt inserts a and fills in its ID and ClaimedAt.
//
// It returns an error wrapping ErrConflict when the delivery already has an
// attempt with a's generation and seq.
func InsertWebhookAttempt(ctx context.Context, db bun.IDB, a *WebhookAttempt) error {
	if err := ensureID(&a.ID); err != nil {
		return fmt.Errorf("store: insert webhook attempt: %w", err)
	}
	if _, err := db.NewInsert().Model(a).Returning("*").Exec(ctx); err != nil {
		return fmt.Errorf("store: insert webhook attempt: %w", interpretError(err))
	}
	return nil
}

// GetWebhookAttempt returns the attempt with id.
//
// It returns an error wrapping ErrNotFound when there is none.
func GetWebhookAttempt(ctx context.Context, db bun.IDB, id uuid.UUID) (*WebhookAttempt, error) {
	a := new(WebhookAttempt)
	if err := db.NewSelect().Model(a).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: get webhook attempt: %w", interpretError(err))
	}
	return a, nil
}

// FindWebhookAttempt returns the delivery's attempt with generation and seq.
//
// It returns an error wrapping ErrNotFound when there is none.
func FindWebhookAttempt(ctx context.Context, db bun.IDB, deliveryID uuid.UUID, generation, seq int) (*WebhookAttempt, error) {
	a := new(WebhookAttempt)
	err := db.NewSelect().Model(a).
		Where("delivery_root_id = ? AND generation = ? AND seq = ?", deliveryID, generation, seq).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: find webhook attempt: %w", interpretError(err))
	}
	return a, nil
}

// CountWebhookAttempts counts the attempts of a delivery's generation.
func CountWebhookAttempts(ctx context.Context, db bun.IDB, deliveryID uuid.UUID, generation int) (int, error) {
	n, err := db.NewSelect().Model((*WebhookAttempt)(nil)).
		Where("delivery_root_id = ? AND generation = ?", deliveryID, generation).
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count webhook attempts: %w", interpretError(err))
	}
	return int(n), nil
}

// UpdateWebhookAttempt writes the named columns of a to its row.
//
// It returns an error wrapping ErrNotFound when there is no such row.
func UpdateWebhookAttempt(ctx context.Context, db bun.IDB, a *WebhookAttempt, columns ...string) error {
	res, err := db.NewUpdate().Model(a).Column(columns...).WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: update webhook attempt: %w", interpretError(err))
	}
	if err := requireOneRow(res); err != nil {
		return fmt.Errorf("store: update webhook attempt %s: %w", a.ID, err)
	}
	return nil
}

// ListWebhookAttempts returns the attempts of the deliveries, in the order
// they were made within each delivery.
func ListWebhookAttempts(ctx context.Context, db bun.IDB, deliveryIDs []uuid.UUID) ([]WebhookAttempt, error) {
	if len(deliveryIDs) == 0 {
		return nil, nil
	}
	var as []WebhookAttempt
	err := db.NewSelect().Model(&as).
		Where("delivery_root_id IN (?)", bun.In(deliveryIDs)).
		OrderExpr("delivery_root_id, generation, seq").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook attempts: %w", interpretError(err))
	}
	return as, nil
}
