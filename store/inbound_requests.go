package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// InboundRequest is a row of inbound_request: the archive of one integrator
// request, keyed by its request_id, written before any job is created so that
// every piece of downstream work can be traced back to the payload that
// caused it.
type InboundRequest struct {
	bun.BaseModel `bun:"table:inbound_request"`

	// RequestID is the request's correlation ID: RD's own, or a token the
	// client supplied, hence text rather than uuid. 1 to 255 characters.
	RequestID string `bun:"request_id,pk"`
	// Endpoint is the operation called, like "POST /request-reviews".
	Endpoint string `bun:"endpoint"`
	// APIKeyID is the key that authenticated the request; nil when none did.
	APIKeyID *uuid.UUID `bun:"api_key_id,type:uuid"`
	// Integrator is the integrator the key belongs to; "" (NULL) when unknown.
	Integrator string `bun:"integrator,nullzero"`
	// Payload is the request body as JSON, secrets already redacted by the
	// caller: this table is readable by admins and kept for a long time. A
	// nil Payload (a request without a body) is stored as JSON null.
	Payload json.RawMessage `bun:"payload,type:jsonb"`
	// RemoteAddr is the client address as the API saw it; "" (NULL) if unknown.
	RemoteAddr string `bun:"remote_addr,nullzero"`
	// ReceivedAt is when the request arrived; the database's now() when zero.
	ReceivedAt time.Time `bun:"received_at,nullzero"`
}

// InsertInboundRequest archives req and fills in the ReceivedAt the row got.
//
// It returns an error wrapping ErrConflict when a request with the same
// RequestID is already archived (a client reusing its token), and ErrInvalid
// when APIKeyID names no key, Payload is not valid JSON, or RequestID or
// Endpoint is empty or too long.
func InsertInboundRequest(ctx context.Context, db bun.IDB, req *InboundRequest) error {
	// Checked here because bun marshals the jsonb value itself and, on
	// invalid JSON, sends SQL that fails with a syntax error instead.
	if req.Payload != nil && !json.Valid(req.Payload) {
		return fmt.Errorf("store: insert inbound request: %w: payload is not valid JSON", ErrInvalid)
	}
	if _, err := db.NewInsert().Model(req).Returning("*").Exec(ctx); err != nil {
		return fmt.Errorf("store: insert inbound request: %w", interpretError(err))
	}
	return nil
}

// GetInboundRequest returns the archived request with requestID.
//
// It returns an error wrapping ErrNotFound when there is none.
func GetInboundRequest(ctx context.Context, db bun.IDB, requestID string) (*InboundRequest, error) {
	req := new(InboundRequest)
	if err := db.NewSelect().Model(req).Where("request_id = ?", requestID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: get inbound request: %w", interpretError(err))
	}
	return req, nil
}
