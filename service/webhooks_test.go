package service_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/internal/secrets"
	"github.com/reviewdata/rd/internal/signing"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// flakyStarter records what the service starts; failNext makes the next
// call fail, as an unreachable Temporal would.
type flakyStarter struct {
	mu        sync.Mutex
	failNext  bool
	restarted []webhook.Delivery
}

func (f *flakyStarter) call(d *webhook.Delivery) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext {
		f.failNext = false
		return errors.New("temporal unreachable")
	}
	if d != nil {
		f.restarted = append(f.restarted, *d)
	}
	return nil
}

func (f *flakyStarter) Start(context.Context, webhook.Delivery) error       { return f.call(nil) }
func (f *flakyStarter) Resume(context.Context, webhook.Delivery) error      { return f.call(nil) }
func (f *flakyStarter) Restart(_ context.Context, d webhook.Delivery) error { return f.call(&d) }
func (f *flakyStarter) Cancel(context.Context, uuid.UUID) error             { return f.call(nil) }

type webhooksBundle struct {
	ctx     context.Context
	st      *store.Store
	starter *flakyStarter
	svc     *service.Webhooks
	who     service.Integrator
}

func setupWebhooks(t *testing.T) *webhooksBundle {
	t.Helper()
	keys, err := secrets.ParseKeys(secrets.GenerateKey())
	require.NoError(t, err)
	b := &webhooksBundle{ctx: t.Context(), st: pgtest.NewStore(t), starter: &flakyStarter{}, who: service.Integrator{Name: "rm-" + rand.Text()[:6]}}
	b.svc = &service.Webhooks{Store: b.st, Secrets: keys, Starter: b.starter, Config: service.WebhooksConfig{AllowPrivate: true}}
	return b
}

// deadLetter makes a dead-lettered delivery to a new endpoint.
func (b *webhooksBundle) deadLetter(t *testing.T) (*service.Endpoint, *store.WebhookDelivery) {
	t.Helper()
	ep, _, err := b.svc.CreateEndpoint(b.ctx, b.who, service.EndpointSpec{URL: "http://127.0.0.1:9/hook", EventTypes: []string{"DATA_RESULT"}})
	require.NoError(t, err)
	sent, err := b.svc.SendTestEvent(b.ctx, b.who, ep.ID, "req-1")
	require.NoError(t, err)
	d, err := store.GetWebhookDelivery(b.ctx, b.st.DB, sent.DeliveryID)
	require.NoError(t, err)
	now := time.Now()
	d.Status, d.CompletedAt = store.WebhookDeliveryDeadLettered, &now
	require.NoError(t, store.UpdateWebhookDelivery(b.ctx, b.st.DB, d, now, "status", "completed_at"))
	return ep, d
}

func TestReplayCanBeAskedAgainWhenItsStartFailed(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	_, d := b.deadLetter(t)

	b.starter.failNext = true
	_, err := b.svc.ReplayDelivery(b.ctx, d.ID)
	requireCode(t, err, http.StatusServiceUnavailable, service.CodeUnavailable)

	// The row is re-armed (generation 2) but nothing runs it: asking again
	// starts the same generation rather than refusing or skipping one.
	replayed, err := b.svc.ReplayDelivery(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, 2, replayed.Generation)
	require.Len(t, b.starter.restarted, 1)
	require.Equal(t, 2, b.starter.restarted[0].Generation)

	// Once the new generation has made an attempt, it is no longer a
	// replay to repeat.
	started := time.Now()
	require.NoError(t, store.InsertWebhookAttempt(b.ctx, b.st.DB, &store.WebhookAttempt{
		DeliveryRootID: d.ID, Generation: 2, Seq: 1, StartedAt: &started,
	}))
	_, err = b.svc.ReplayDelivery(b.ctx, d.ID)
	requireCode(t, err, http.StatusConflict, service.CodeWebhookDeliveryNotDeadLettered)
}

func TestReplayRefusesADisabledEndpoint(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	ep, d := b.deadLetter(t)
	off := false
	_, err := b.svc.UpdateEndpoint(b.ctx, b.who, ep.ID, service.EndpointChange{Enabled: &off})
	require.NoError(t, err)
	_, err = b.svc.ReplayDelivery(b.ctx, d.ID)
	requireCode(t, err, http.StatusConflict, service.CodeWebhookEndpointDisabled)
	_, err = b.svc.RecoverEndpoint(b.ctx, ep.ID, time.Time{})
	requireCode(t, err, http.StatusConflict, service.CodeWebhookEndpointDisabled)

	require.NoError(t, b.svc.DeleteEndpoint(b.ctx, b.who, ep.ID))
	_, err = b.svc.ReplayDelivery(b.ctx, d.ID)
	requireCode(t, err, http.StatusNotFound, service.CodeWebhookDeliveryNotFound)
}

func TestRotateSecretOverlaps(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	ep, first, err := b.svc.CreateEndpoint(b.ctx, b.who, service.EndpointSpec{URL: "http://127.0.0.1:9/hook", EventTypes: []string{"DATA_RESULT"}})
	require.NoError(t, err)
	second, until, err := b.svc.RotateSecret(b.ctx, b.who, ep.ID)
	require.NoError(t, err)
	require.NotEqual(t, first, second)
	require.WithinDuration(t, time.Now().Add(service.SecretOverlap), until, time.Minute)

	valid, err := store.ListValidWebhookSecrets(b.ctx, b.st.DB, ep.ID, time.Now())
	require.NoError(t, err)
	require.Len(t, valid, 2, "both sign during the overlap")
	plain, err := b.svc.Secrets.Decrypt(valid[0].Ciphertext)
	require.NoError(t, err)
	require.Equal(t, second, signing.Secret(plain).Encode(), "the newest first")

	got, err := b.svc.GetEndpoint(b.ctx, b.who, ep.ID)
	require.NoError(t, err)
	require.NotNil(t, got.SecretRotationEndsAt)

	_, _, err = b.svc.RotateSecret(b.ctx, service.Integrator{Name: "someone-else"}, ep.ID)
	requireCode(t, err, http.StatusNotFound, service.CodeWebhookEndpointNotFound)
}

func TestEndpointURLIsStoredNormalised(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	// url.Parse lowercases the scheme, the database's check does not: the
	// URL is stored as parsed rather than refused with a 500.
	ep, _, err := b.svc.CreateEndpoint(b.ctx, b.who, service.EndpointSpec{URL: "HTTP://127.0.0.1:9/Hook", EventTypes: []string{"DATA_RESULT"}})
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:9/Hook", ep.URL)

	moved := "HTTPS://127.0.0.1:9/x"
	got, err := b.svc.UpdateEndpoint(b.ctx, b.who, ep.ID, service.EndpointChange{URL: &moved})
	require.NoError(t, err)
	require.Equal(t, "https://127.0.0.1:9/x", got.URL)
	stored, err := b.svc.GetEndpoint(b.ctx, b.who, ep.ID)
	require.NoError(t, err)
	require.Equal(t, "https://127.0.0.1:9/x", stored.URL)
}
