package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/reviewdata/rd/store"
)

// newWebhookEndpoint inserts a live, active endpoint of a random integrator
// subscribed to DATA_RESULT.
func newWebhookEndpoint(t *testing.T, bundle *testBundle, mutate ...func(*store.WebhookEndpoint)) *store.WebhookEndpoint {
	t.Helper()
	ep := &store.WebhookEndpoint{
		Integrator: "rm-" + randomToken(t, 4),
		URL:        "https://hooks.example.com/rd",
		EventTypes: []string{"DATA_RESULT"},
	}
	for _, m := range mutate {
		m(ep)
	}
	require.NoError(t, store.InsertWebhookEndpoint(bundle.ctx, bundle.tx, ep))
	return ep
}

func newWebhookEvent(t *testing.T, bundle *testBundle, integrator string) *store.WebhookEvent {
	t.Helper()
	ev := &store.WebhookEvent{
		Integrator: integrator, Type: "DATA_RESULT", SubjectID: uuid.NewString(),
		RequestID: "req-" + randomToken(t, 4), Payload: json.RawMessage(`{"task_id":"x"}`),
	}
	created, err := store.InsertWebhookEvent(bundle.ctx, bundle.tx, ev)
	require.NoError(t, err)
	require.True(t, created)
	return ev
}

func TestInsertWebhookEndpoint(t *testing.T) {
	t.Parallel()

	t.Run("FillsDefaults", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ep := newWebhookEndpoint(t, bundle)
		require.NotEqual(t, uuid.Nil, ep.ID)
		require.Equal(t, store.WebhookEndpointActive, ep.Status)
		require.Equal(t, store.DefaultWebhookMaxInFlight, ep.MaxInFlight)
		require.False(t, ep.CreatedAt.IsZero())

		got, err := store.GetWebhookEndpoint(bundle.ctx, bundle.tx, ep.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"DATA_RESULT"}, got.EventTypes)
	})

	refusals := []struct {
		name       string
		mutate     func(*store.WebhookEndpoint)
		constraint string
	}{
		{"UnknownEventType", func(e *store.WebhookEndpoint) { e.EventTypes = []string{"DATA_RESULT", "NOPE"} }, "webhook_endpoints_event_types_check"},
		{"NoEventTypes", func(e *store.WebhookEndpoint) { e.EventTypes = []string{} }, "webhook_endpoints_event_types_check"},
		{"TestEventIsNotSubscribable", func(e *store.WebhookEndpoint) { e.EventTypes = []string{"WEBHOOK_TEST"} }, "webhook_endpoints_event_types_check"},
		{"NotHTTP", func(e *store.WebhookEndpoint) { e.URL = "ftp://example.com" }, "webhook_endpoints_url_check"},
		{"TooManyInFlight", func(e *store.WebhookEndpoint) { e.MaxInFlight = 65 }, "webhook_endpoints_max_in_flight_check"},
		{"DisabledWithoutReason", func(e *store.WebhookEndpoint) { e.Status = store.WebhookEndpointDisabled }, "webhook_endpoints_disabled_reason_check"},
	}
	for _, tt := range refusals {
		t.Run("Refuses"+tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t)
			ep := &store.WebhookEndpoint{Integrator: "rm", URL: "https://example.com", EventTypes: []string{"DATA_RESULT"}}
			tt.mutate(ep)
			err := store.InsertWebhookEndpoint(bundle.ctx, bundle.tx, ep)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Equal(t, tt.constraint, store.ConstraintName(err))
		})
	}
}

func TestListSubscribedWebhookEndpoints(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	a := newWebhookEndpoint(t, bundle)
	b := newWebhookEndpoint(t, bundle, func(e *store.WebhookEndpoint) {
		e.Integrator = a.Integrator
		e.EventTypes = []string{"URL_UPDATED", "DATA_RESULT"}
	})
	newWebhookEndpoint(t, bundle, func(e *store.WebhookEndpoint) { // another event
		e.Integrator = a.Integrator
		e.EventTypes = []string{"URL_UPDATED"}
	})
	deleted := newWebhookEndpoint(t, bundle, func(e *store.WebhookEndpoint) { e.Integrator = a.Integrator })
	now := time.Now()
	deleted.DeletedAt = &now
	require.NoError(t, store.UpdateWebhookEndpoint(bundle.ctx, bundle.tx, deleted, now, "deleted_at"))
	newWebhookEndpoint(t, bundle) // another integrator

	got, err := store.ListSubscribedWebhookEndpoints(bundle.ctx, bundle.tx, a.Integrator, "DATA_RESULT")
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, a.ID, got[0].ID)
	require.Equal(t, b.ID, got[1].ID)

	live, err := store.ListWebhookEndpoints(bundle.ctx, bundle.tx, a.Integrator)
	require.NoError(t, err)
	require.Len(t, live, 3, "the soft-deleted endpoint is not listed")

	err = store.UpdateWebhookEndpoint(bundle.ctx, bundle.tx, deleted, now, "description")
	require.ErrorIs(t, err, store.ErrNotFound, "a deleted endpoint cannot be updated")
}

func TestListLiveWebhookEndpoints(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	a := newWebhookEndpoint(t, bundle)
	b := newWebhookEndpoint(t, bundle, func(e *store.WebhookEndpoint) { e.EventTypes = []string{"URL_UPDATED"} })
	deleted := newWebhookEndpoint(t, bundle)
	now := time.Now()
	deleted.DeletedAt = &now
	require.NoError(t, store.UpdateWebhookEndpoint(bundle.ctx, bundle.tx, deleted, now, "deleted_at"))
	newWebhookEndpoint(t, bundle) // not asked for

	got, err := store.ListLiveWebhookEndpoints(bundle.ctx, bundle.tx, []uuid.UUID{b.ID, deleted.ID, a.ID, uuid.New()})
	require.NoError(t, err)
	require.Len(t, got, 2, "whatever they subscribe to; not the deleted one")
	require.Equal(t, a.ID, got[0].ID)
	require.Equal(t, b.ID, got[1].ID)

	got, err = store.ListLiveWebhookEndpoints(bundle.ctx, bundle.tx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestDisableWebhookEndpoint(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	ep := newWebhookEndpoint(t, bundle)
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)

	changed, err := store.DisableWebhookEndpoint(bundle.ctx, bundle.tx, ep.ID, store.WebhookDisabledGone, at)
	require.NoError(t, err)
	require.True(t, changed)
	changed, err = store.DisableWebhookEndpoint(bundle.ctx, bundle.tx, ep.ID, store.WebhookDisabledFailing, time.Now())
	require.NoError(t, err)
	require.False(t, changed, "already disabled")

	got, err := store.GetWebhookEndpoint(bundle.ctx, bundle.tx, ep.ID)
	require.NoError(t, err)
	require.Equal(t, store.WebhookEndpointDisabled, got.Status)
	require.Equal(t, store.WebhookDisabledGone, got.DisabledReason, "the first reason is kept")
	require.True(t, at.Equal(*got.DisabledAt))
}

func TestWebhookEndpointFailing(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	ep := newWebhookEndpoint(t, bundle)
	first := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Microsecond)

	since, err := store.SetWebhookEndpointFailing(bundle.ctx, bundle.tx, ep.ID, first)
	require.NoError(t, err)
	require.True(t, first.Equal(since))
	since, err = store.SetWebhookEndpointFailing(bundle.ctx, bundle.tx, ep.ID, time.Now())
	require.NoError(t, err)
	require.True(t, first.Equal(since), "the first failure is kept")

	require.NoError(t, store.SetWebhookEndpointHealthy(bundle.ctx, bundle.tx, ep.ID))
	got, err := store.GetWebhookEndpoint(bundle.ctx, bundle.tx, ep.ID)
	require.NoError(t, err)
	require.Nil(t, got.FailingSince)
}

func TestWebhookSecrets(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	ep := newWebhookEndpoint(t, bundle)
	now := time.Now()

	old := &store.WebhookSecret{EndpointID: ep.ID, Ciphertext: "old", CreatedAt: now.Add(-time.Hour)}
	require.NoError(t, store.InsertWebhookSecret(bundle.ctx, bundle.tx, old))
	// Rotation: the old secret signs for 24 more hours, the new one from now.
	require.NoError(t, store.ExpireWebhookSecrets(bundle.ctx, bundle.tx, ep.ID, now.Add(24*time.Hour)))
	current := &store.WebhookSecret{EndpointID: ep.ID, Ciphertext: "new", CreatedAt: now}
	require.NoError(t, store.InsertWebhookSecret(bundle.ctx, bundle.tx, current))

	valid, err := store.ListValidWebhookSecrets(bundle.ctx, bundle.tx, ep.ID, now)
	require.NoError(t, err)
	require.Len(t, valid, 2)
	require.Equal(t, "new", valid[0].Ciphertext, "newest first")
	require.Equal(t, "old", valid[1].Ciphertext)

	valid, err = store.ListValidWebhookSecrets(bundle.ctx, bundle.tx, ep.ID, now.Add(25*time.Hour))
	require.NoError(t, err)
	require.Len(t, valid, 1, "the old secret stops signing after 24 h")
	require.Equal(t, "new", valid[0].Ciphertext)

	// A second rotation within the window never extends the old secret.
	require.NoError(t, store.ExpireWebhookSecrets(bundle.ctx, bundle.tx, ep.ID, now.Add(30*time.Hour)))
	valid, err = store.ListValidWebhookSecrets(bundle.ctx, bundle.tx, ep.ID, now.Add(25*time.Hour))
	require.NoError(t, err)
	require.Len(t, valid, 1)
}

func TestInsertWebhookEvent(t *testing.T) {
	t.Parallel()

	t.Run("SameSubjectIsStoredOnce", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		first := newWebhookEvent(t, bundle, "rm")

		again := &store.WebhookEvent{
			Integrator: "rm", Type: first.Type, SubjectID: first.SubjectID,
			RequestID: "other", Payload: json.RawMessage(`{"other":true}`),
		}
		created, err := store.InsertWebhookEvent(bundle.ctx, bundle.tx, again)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, first.ID, again.ID)
		require.JSONEq(t, `{"task_id":"x"}`, string(again.Payload), "the first event's payload wins")

		other := &store.WebhookEvent{
			Integrator: "rm", Type: "URL_UPDATED", SubjectID: first.SubjectID,
			RequestID: "r", Payload: json.RawMessage(`{}`),
		}
		created, err = store.InsertWebhookEvent(bundle.ctx, bundle.tx, other)
		require.NoError(t, err)
		require.True(t, created, "another type about the same subject is another event")
	})

	t.Run("RefusesUnknownType", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		_, err := store.InsertWebhookEvent(bundle.ctx, bundle.tx, &store.WebhookEvent{
			Integrator: "rm", Type: "NOPE", SubjectID: "s", RequestID: "r", Payload: json.RawMessage(`{}`),
		})
		require.ErrorIs(t, err, store.ErrInvalid)
		require.Equal(t, "webhook_events_type_check", store.ConstraintName(err))
	})

	t.Run("RefusesInvalidJSON", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		_, err := store.InsertWebhookEvent(bundle.ctx, bundle.tx, &store.WebhookEvent{
			Integrator: "rm", Type: "DATA_RESULT", SubjectID: "s", RequestID: "r", Payload: json.RawMessage(`{`),
		})
		require.ErrorIs(t, err, store.ErrInvalid)
	})
}

func TestInsertWebhookDeliveriesIsIdempotent(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	a := newWebhookEndpoint(t, bundle)
	b := newWebhookEndpoint(t, bundle, func(e *store.WebhookEndpoint) { e.Integrator = a.Integrator })
	ev := newWebhookEvent(t, bundle, a.Integrator)

	first, err := store.InsertWebhookDeliveries(bundle.ctx, bundle.tx, ev.ID, []uuid.UUID{a.ID})
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.Equal(t, store.WebhookDeliveryPending, first[0].Status)
	require.Equal(t, 1, first[0].Generation)

	both, err := store.InsertWebhookDeliveries(bundle.ctx, bundle.tx, ev.ID, []uuid.UUID{b.ID, a.ID})
	require.NoError(t, err)
	require.Len(t, both, 2)
	require.Equal(t, b.ID, both[0].EndpointID, "in the order asked")
	require.Equal(t, first[0].ID, both[1].ID, "the existing delivery is kept")
}

func TestWebhookMeteringQueries(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	ep := newWebhookEndpoint(t, bundle)
	now := time.Now().UTC().Truncate(time.Microsecond)

	var ds []store.WebhookDelivery
	for range 4 {
		ev := newWebhookEvent(t, bundle, ep.Integrator)
		got, err := store.InsertWebhookDeliveries(bundle.ctx, bundle.tx, ev.ID, []uuid.UUID{ep.ID})
		require.NoError(t, err)
		ds = append(ds, got[0])
	}
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }

	// ds[0] holds a live lease, ds[1] an expired one.
	ds[0].Status, ds[0].LeaseExpiresAt = store.WebhookDeliveryDelivering, at(time.Minute)
	ds[1].Status, ds[1].LeaseExpiresAt = store.WebhookDeliveryDelivering, at(-time.Second)
	// ds[2] waits since -10s and asked recently; ds[3] waits since -20s
	// (ahead of ds[2]) but its workflow stopped asking long ago.
	ds[2].QueuedAt, ds[2].QueueSeenAt = at(-10*time.Second), at(0)
	ds[3].QueuedAt, ds[3].QueueSeenAt = at(-20*time.Second), at(-time.Hour)
	for i := range ds {
		require.NoError(t, store.UpdateWebhookDelivery(bundle.ctx, bundle.tx, &ds[i], now,
			"status", "lease_expires_at", "queued_at", "queue_seen_at"))
	}

	leases, err := store.CountWebhookLeases(bundle.ctx, bundle.tx, ep.ID, now, uuid.Nil)
	require.NoError(t, err)
	require.Equal(t, 1, leases, "only the unexpired lease counts")
	leases, err = store.CountWebhookLeases(bundle.ctx, bundle.tx, ep.ID, now, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, 0, leases, "the asker's own lease is left out")

	staleBefore := now.Add(-2 * time.Minute)
	ahead, err := store.CountWebhookWaitersAhead(bundle.ctx, bundle.tx, &ds[2], staleBefore)
	require.NoError(t, err)
	require.Equal(t, 0, ahead, "a stale waiter does not block the queue")
	ahead, err = store.CountWebhookWaitersAhead(bundle.ctx, bundle.tx, &ds[2], now.Add(-2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, ahead)

	waiters, err := store.ListWebhookWaiters(bundle.ctx, bundle.tx, ep.ID, now.Add(-2*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{ds[3].ID, ds[2].ID}, waiters, "queue order")

	cancelled, err := store.CancelWebhookDeliveries(bundle.ctx, bundle.tx, ep.ID, now)
	require.NoError(t, err)
	require.Len(t, cancelled, 4)
	got, err := store.GetWebhookDelivery(bundle.ctx, bundle.tx, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, store.WebhookDeliveryCancelled, got.Status)
	require.Nil(t, got.LeaseExpiresAt)
}

func TestWebhookAttempts(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	ep := newWebhookEndpoint(t, bundle)
	ev := newWebhookEvent(t, bundle, ep.Integrator)
	ds, err := store.InsertWebhookDeliveries(bundle.ctx, bundle.tx, ev.ID, []uuid.UUID{ep.ID})
	require.NoError(t, err)
	d := ds[0]

	a := &store.WebhookAttempt{DeliveryRootID: d.ID, Generation: 1, Seq: 1}
	require.NoError(t, store.InsertWebhookAttempt(bundle.ctx, bundle.tx, a))
	// A savepoint, so the refused insert does not abort the test's transaction.
	err = bundle.tx.RunInTx(bundle.ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return store.InsertWebhookAttempt(ctx, tx, &store.WebhookAttempt{DeliveryRootID: d.ID, Generation: 1, Seq: 1})
	})
	require.ErrorIs(t, err, store.ErrConflict)

	found, err := store.FindWebhookAttempt(bundle.ctx, bundle.tx, d.ID, 1, 1)
	require.NoError(t, err)
	require.Equal(t, a.ID, found.ID)
	_, err = store.FindWebhookAttempt(bundle.ctx, bundle.tx, d.ID, 1, 2)
	require.ErrorIs(t, err, store.ErrNotFound)

	code := 503
	a.StatusCode = &code
	a.ResponseBody = strings.Repeat("x", 20481)
	err = store.UpdateWebhookAttempt(bundle.ctx, bundle.tx, a, "status_code", "response_body")
	require.ErrorIs(t, err, store.ErrInvalid, "response bodies are capped at 20 KB")
	require.Equal(t, "webhook_attempts_response_body_check", store.ConstraintName(err))
}
