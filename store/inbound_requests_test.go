package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/store"
)

func TestInsertInboundRequest(t *testing.T) {
	t.Parallel()

	t.Run("RoundTripsWithKey", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		key := newAPIKey(t)
		require.NoError(t, store.InsertAPIKey(bundle.ctx, bundle.tx, key))
		receivedAt := time.Now().Add(-time.Second)

		req := &store.InboundRequest{
			RequestID:  "client-token-" + randomToken(t, 8),
			Endpoint:   "POST /request-reviews",
			APIKeyID:   &key.ID,
			Integrator: "rm",
			Payload:    []byte(`{"foreign_key": "fk-1", "api_key": "[REDACTED]", "urls": ["https://example.com/a"]}`),
			RemoteAddr: "203.0.113.7:52100",
			ReceivedAt: receivedAt,
		}
		require.NoError(t, store.InsertInboundRequest(bundle.ctx, bundle.tx, req))

		got, err := store.GetInboundRequest(bundle.ctx, bundle.tx, req.RequestID)
		require.NoError(t, err)
		require.Equal(t, req.RequestID, got.RequestID)
		require.Equal(t, "POST /request-reviews", got.Endpoint)
		require.NotNil(t, got.APIKeyID)
		require.Equal(t, key.ID, *got.APIKeyID)
		require.Equal(t, "rm", got.Integrator)
		require.JSONEq(t, string(req.Payload), string(got.Payload))
		require.Equal(t, "203.0.113.7:52100", got.RemoteAddr)
		require.WithinDuration(t, receivedAt, got.ReceivedAt, time.Millisecond)
	})

	t.Run("UnauthenticatedRequestStoresNulls", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		req := &store.InboundRequest{
			RequestID: uuid.NewString(),
			Endpoint:  "POST /request-reviews",
			Payload:   []byte(`null`),
		}
		require.NoError(t, store.InsertInboundRequest(bundle.ctx, bundle.tx, req))
		require.False(t, req.ReceivedAt.IsZero(), "filled by the database default")

		var nulls int
		require.NoError(t, bundle.tx.NewRaw(
			"SELECT num_nulls(api_key_id, integrator, remote_addr) FROM inbound_request WHERE request_id = ?", req.RequestID,
		).Scan(bundle.ctx, &nulls))
		require.Equal(t, 3, nulls, "empty optional fields are stored as NULL, not ''")
	})

	t.Run("NilPayloadIsJSONNull", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		req := &store.InboundRequest{RequestID: uuid.NewString(), Endpoint: "GET /publishers"}
		require.NoError(t, store.InsertInboundRequest(bundle.ctx, bundle.tx, req))

		var kind string
		require.NoError(t, bundle.tx.NewRaw(
			"SELECT jsonb_typeof(payload) FROM inbound_request WHERE request_id = ?", req.RequestID,
		).Scan(bundle.ctx, &kind))
		require.Equal(t, "null", kind)
	})

	t.Run("DuplicateRequestIDIsConflict", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		req := &store.InboundRequest{RequestID: uuid.NewString(), Endpoint: "POST /ai-response", Payload: []byte(`{}`)}
		require.NoError(t, store.InsertInboundRequest(bundle.ctx, bundle.tx, req))

		err := store.InsertInboundRequest(bundle.ctx, bundle.tx, &store.InboundRequest{
			RequestID: req.RequestID, Endpoint: "POST /ai-response", Payload: []byte(`{}`),
		})
		require.ErrorIs(t, err, store.ErrConflict)
		require.Equal(t, "inbound_request_pkey", store.ConstraintName(err))
	})

	refusals := []struct {
		name       string
		req        func() *store.InboundRequest
		constraint string
	}{
		{"UnknownAPIKey", func() *store.InboundRequest {
			id := uuid.New()
			return &store.InboundRequest{RequestID: uuid.NewString(), Endpoint: "POST /x", APIKeyID: &id, Payload: []byte(`{}`)}
		}, "inbound_request_api_key_id_fkey"},
		{"PayloadThatIsNotJSON", func() *store.InboundRequest {
			return &store.InboundRequest{RequestID: uuid.NewString(), Endpoint: "POST /x", Payload: []byte(`{"cut off`)}
		}, ""},
		{"EmptyRequestID", func() *store.InboundRequest {
			return &store.InboundRequest{Endpoint: "POST /x", Payload: []byte(`{}`)}
		}, "inbound_request_request_id_check"},
		{"EmptyEndpoint", func() *store.InboundRequest {
			return &store.InboundRequest{RequestID: uuid.NewString(), Payload: []byte(`{}`)}
		}, "inbound_request_endpoint_check"},
	}
	for _, tt := range refusals {
		t.Run("Refuses"+tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t)
			err := store.InsertInboundRequest(bundle.ctx, bundle.tx, tt.req())
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Equal(t, tt.constraint, store.ConstraintName(err))
		})
	}
}

func TestGetInboundRequest(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	_, err := store.GetInboundRequest(bundle.ctx, bundle.tx, "no-such-request")
	require.ErrorIs(t, err, store.ErrNotFound)
}
