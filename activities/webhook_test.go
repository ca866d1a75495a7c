package activities_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/buildinfo"
	"github.com/reviewdata/rd/internal/netguard"
	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/internal/secrets"
	"github.com/reviewdata/rd/internal/signing"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/store"
)

// recordingTemporal stands in for the Temporal client in these activity
// tests: it records which delivery workflows were started, woken and
// cancelled. The end-to-end tests in package workflows use a real server.
type recordingTemporal struct {
	client.Client

	mu        sync.Mutex
	started   []string
	woken     []string
	cancelled []string
}

func (c *recordingTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = append(c.started, opts.ID)
	return nil, nil
}

func (c *recordingTemporal) SignalWorkflow(_ context.Context, id, _, _ string, _ any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.woken = append(c.woken, id)
	return nil
}

func (c *recordingTemporal) CancelWorkflow(_ context.Context, id, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelled = append(c.cancelled, id)
	return nil
}

func (c *recordingTemporal) snapshot() (started, woken, cancelled []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.started...), append([]string(nil), c.woken...), append([]string(nil), c.cancelled...)
}

type webhookBundle struct {
	ctx      context.Context
	st       *store.Store
	keys     *secrets.Keyring
	temporal *recordingTemporal
	acts     *activities.WebhookActivities
	now      time.Time // the activities' clock; move it with advance
	mu       sync.Mutex
}

func setupWebhooks(t *testing.T) *webhookBundle {
	t.Helper()
	keys, err := secrets.ParseKeys(secrets.GenerateKey())
	require.NoError(t, err)
	b := &webhookBundle{ctx: t.Context(), st: pgtest.NewStore(t), keys: keys, temporal: &recordingTemporal{}, now: time.Now()}
	b.acts = &activities.WebhookActivities{
		Store:   b.st,
		Secrets: keys,
		// The receivers are httptest servers on loopback.
		HTTP:    netguard.NewClient(netguard.Config{AllowPrivate: true, Timeout: 2 * time.Second}),
		Starter: &webhook.Starter{Client: b.temporal},
		Config:  activities.WebhookConfig{HTTPTimeout: 2 * time.Second},
		Now:     b.clock,
	}
	return b
}

func (b *webhookBundle) clock() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.now
}

func (b *webhookBundle) advance(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = b.now.Add(d)
}

// addEndpoint creates an active endpoint of integrator at url, subscribed
// to DATA_RESULT, with one signing secret, and returns it and the secret
// as the integrator holds it.
func (b *webhookBundle) addEndpoint(t *testing.T, integrator, url string, mutate ...func(*store.WebhookEndpoint)) (*store.WebhookEndpoint, string) {
	t.Helper()
	ep := &store.WebhookEndpoint{Integrator: integrator, URL: url, EventTypes: []string{"DATA_RESULT"}}
	for _, m := range mutate {
		m(ep)
	}
	require.NoError(t, store.InsertWebhookEndpoint(b.ctx, b.st.DB, ep))
	return ep, b.addSecret(t, ep, b.clock().Add(-time.Minute))
}

func (b *webhookBundle) addSecret(t *testing.T, ep *store.WebhookEndpoint, at time.Time) string {
	t.Helper()
	secret := signing.GenerateSecret()
	ct, err := b.keys.Encrypt(secret)
	require.NoError(t, err)
	require.NoError(t, store.InsertWebhookSecret(b.ctx, b.st.DB, &store.WebhookSecret{EndpointID: ep.ID, Ciphertext: ct, CreatedAt: at}))
	return secret.Encode()
}

func (b *webhookBundle) emit(t *testing.T, integrator string) activities.EmitWebhookResult {
	t.Helper()
	data, err := json.Marshal(webhook.DataResult{Job: webhook.Job{TaskID: uuid.New(), PublisherKey: "yelp"}, Status: "COMPLETED"})
	require.NoError(t, err)
	res, err := b.acts.EmitWebhook(b.ctx, activities.EmitWebhookInput{
		Integrator: integrator, EventType: webhook.EventDataResult, SubjectID: uuid.NewString(), RequestID: "req-1", Data: data,
	})
	require.NoError(t, err)
	return res
}

func (b *webhookBundle) deliveries(t *testing.T, eventID uuid.UUID) []store.WebhookDelivery {
	t.Helper()
	var ds []store.WebhookDelivery
	require.NoError(t, b.st.DB.NewSelect().Model(&ds).Where("event_id = ?", eventID).OrderExpr("created_at, id").Scan(b.ctx))
	return ds
}

func (b *webhookBundle) delivery(t *testing.T, id uuid.UUID) *store.WebhookDelivery {
	t.Helper()
	d, err := store.GetWebhookDelivery(b.ctx, b.st.DB, id)
	require.NoError(t, err)
	return d
}

func (b *webhookBundle) claim(t *testing.T, d store.WebhookDelivery) activities.ClaimWebhookSlotResult {
	t.Helper()
	res, err := b.acts.ClaimWebhookSlot(b.ctx, activities.ClaimWebhookSlotInput{
		DeliveryID: d.ID, Generation: d.Generation, StaleAfter: 2 * time.Minute,
	})
	require.NoError(t, err)
	return res
}

func (b *webhookBundle) send(t *testing.T, d store.WebhookDelivery, seq int) activities.SendWebhookResult {
	t.Helper()
	res, err := b.acts.SendWebhook(b.ctx, activities.SendWebhookInput{DeliveryID: d.ID, Generation: d.Generation, Seq: seq})
	require.NoError(t, err)
	return res
}

// receiver is an integrator's endpoint: it verifies every request with
// signing.Verify and answers with the handler's status.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	verified []error
	secrets  []string
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, r)
		rc.bodies = append(rc.bodies, body)
		rc.verified = append(rc.verified, signing.Verify(rc.secrets, r.Header, body, 0))
		rc.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func statusHandler(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func TestEmitWebhookFansOutIdempotently(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	integrator := "rm-" + uuid.NewString()[:8]
	active, _ := b.addEndpoint(t, integrator, "https://a.example.com/hook")
	disabled, _ := b.addEndpoint(t, integrator, "https://b.example.com/hook")
	_, err := store.DisableWebhookEndpoint(b.ctx, b.st.DB, disabled.ID, store.WebhookDisabledManual, time.Now())
	require.NoError(t, err)
	b.addEndpoint(t, integrator, "https://c.example.com/hook", func(e *store.WebhookEndpoint) { e.EventTypes = []string{"URL_UPDATED"} })
	b.addEndpoint(t, "someone-else", "https://d.example.com/hook")

	in := activities.EmitWebhookInput{
		Integrator: integrator, EventType: webhook.EventDataResult, SubjectID: "task-1",
		RequestID: "req-1", Data: json.RawMessage(`{"task_id":"task-1"}`),
	}
	res, err := b.acts.EmitWebhook(b.ctx, in)
	require.NoError(t, err)
	require.True(t, res.Created)
	require.Equal(t, 2, res.Deliveries, "one per subscribed live endpoint, disabled included")
	require.Equal(t, 1, res.Held, "the disabled endpoint's delivery is recorded, not started")

	ds := b.deliveries(t, res.EventID)
	require.Len(t, ds, 2)
	var activeDelivery store.WebhookDelivery
	for _, d := range ds {
		require.Equal(t, store.WebhookDeliveryPending, d.Status)
		if d.EndpointID == active.ID {
			activeDelivery = d
		}
	}
	started, _, _ := b.temporal.snapshot()
	require.Equal(t, []string{webhook.DeliveryWorkflowID(activeDelivery.ID)}, started)

	// Emitted again (a retried activity, a replayed workflow): the same
	// event, no new delivery, even for an endpoint subscribed since.
	b.addEndpoint(t, integrator, "https://e.example.com/hook")
	again, err := b.acts.EmitWebhook(b.ctx, in)
	require.NoError(t, err)
	require.False(t, again.Created)
	require.Equal(t, res.EventID, again.EventID)
	require.Len(t, b.deliveries(t, res.EventID), 2)
	started, _, _ = b.temporal.snapshot()
	require.Equal(t, []string{webhook.DeliveryWorkflowID(activeDelivery.ID), webhook.DeliveryWorkflowID(activeDelivery.ID)}, started,
		"the start is repeated, and the starter's reuse policy makes it a no-op")
}

func TestEmitWebhookRetryStartsTheDeliveriesItMade(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	integrator := "rm-" + uuid.NewString()[:8]
	ep, _ := b.addEndpoint(t, integrator, "https://a.example.com/hook")
	in := activities.EmitWebhookInput{
		Integrator: integrator, EventType: webhook.EventDataResult, SubjectID: "task-1",
		RequestID: "req-1", Data: json.RawMessage(`{"task_id":"task-1"}`),
	}
	res, err := b.acts.EmitWebhook(b.ctx, in)
	require.NoError(t, err)
	d := b.deliveries(t, res.EventID)[0]

	// Say the start failed and, before the retry, the endpoint stopped
	// subscribing to the event: the delivery exists all the same, and the
	// retry must start it rather than leave it pending with no workflow.
	ep.EventTypes = []string{"URL_UPDATED"}
	require.NoError(t, store.UpdateWebhookEndpoint(b.ctx, b.st.DB, ep, b.clock(), "event_types"))
	again, err := b.acts.EmitWebhook(b.ctx, in)
	require.NoError(t, err)
	require.False(t, again.Created)
	require.Equal(t, 1, again.Deliveries)
	require.Zero(t, again.Held)
	started, _, _ := b.temporal.snapshot()
	require.Equal(t, []string{webhook.DeliveryWorkflowID(d.ID), webhook.DeliveryWorkflowID(d.ID)}, started)
}

func TestEmitWebhookRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	for name, in := range map[string]activities.EmitWebhookInput{
		"UnknownType": {Integrator: "rm", EventType: "NOPE", SubjectID: "s", RequestID: "r", Data: json.RawMessage(`{}`)},
		"TestType":    {Integrator: "rm", EventType: webhook.EventWebhookTest, SubjectID: "s", RequestID: "r", Data: json.RawMessage(`{}`)},
		"NoSubject":   {Integrator: "rm", EventType: webhook.EventDataResult, RequestID: "r", Data: json.RawMessage(`{}`)},
		"NotJSON":     {Integrator: "rm", EventType: webhook.EventDataResult, SubjectID: "s", RequestID: "r", Data: json.RawMessage(`{`)},
	} {
		_, err := b.acts.EmitWebhook(b.ctx, in)
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, err, &appErr, name)
		require.True(t, appErr.NonRetryable(), name)
		require.Equal(t, activities.ErrTypeInvalidWebhookEvent, appErr.Type(), name)
	}
}

func TestSendWebhookSignsAndRecords(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Header().Set("Retry-After", "120")
		_, _ = w.Write([]byte(strings.Repeat("é", 15<<10))) // 30 KB: kept to 20 KB
	})
	integrator := "rm-" + uuid.NewString()[:8]
	ep, secret := b.addEndpoint(t, integrator, rc.URL)
	rc.secrets = []string{secret}
	res := b.emit(t, integrator)
	d := b.deliveries(t, res.EventID)[0]

	require.Equal(t, activities.ClaimAcquired, b.claim(t, d).Outcome)
	first := b.send(t, d, 1)
	require.Equal(t, activities.SendSent, first.Outcome)
	require.Equal(t, http.StatusServiceUnavailable, first.StatusCode)

	require.Equal(t, activities.ClaimAcquired, b.claim(t, d).Outcome)
	second := b.send(t, d, 2)
	require.NotEqual(t, first.AttemptID, second.AttemptID, "a fresh delivery_id per attempt")

	require.Len(t, rc.requests, 2)
	for i, r := range rc.requests {
		require.NoError(t, rc.verified[i], "the receiver verifies the Standard Webhooks signature")
		require.NoError(t, signing.VerifyRDSignature(rc.secrets, r.Header, rc.bodies[i]))
		require.Equal(t, webhook.WebhookID(d.ID), r.Header.Get("webhook-id"), "stable across attempts")
		require.Equal(t, "DATA_RESULT", r.Header.Get("X-RD-Event"))
		require.Equal(t, "ReviewData-Webhooks/"+buildinfo.Version, r.Header.Get("User-Agent"))
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Len(t, strings.Fields(r.Header.Get("webhook-signature")), 1)
	}
	require.Equal(t, first.AttemptID.String(), rc.requests[0].Header.Get("X-RD-Delivery-Id"))
	require.Equal(t, second.AttemptID.String(), rc.requests[1].Header.Get("X-RD-Delivery-Id"))
	require.Equal(t, rc.bodies[0], rc.bodies[1], "retries send identical bytes")

	var msg webhook.Message
	require.NoError(t, json.Unmarshal(rc.bodies[0], &msg))
	require.Equal(t, res.EventID, msg.ID)
	require.Equal(t, webhook.EventDataResult, msg.Type)
	var data webhook.DataResult
	require.NoError(t, json.Unmarshal(msg.Data, &data))
	require.Equal(t, "COMPLETED", data.Status)

	attempts, err := store.ListWebhookAttempts(b.ctx, b.st.DB, []uuid.UUID{d.ID})
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	a := attempts[0]
	require.Equal(t, first.AttemptID, a.ID)
	require.Equal(t, 1, a.Seq)
	require.Equal(t, 503, *a.StatusCode)
	require.NotNil(t, a.StartedAt)
	require.NotNil(t, a.FinishedAt)
	require.NotNil(t, a.DurationMS)
	require.LessOrEqual(t, len(a.ResponseBody), 20<<10)
	require.Greater(t, len(a.ResponseBody), 20<<10-2, "cut at a character boundary just under 20 KB")
	require.True(t, strings.HasPrefix(a.ResponseBody, "éé"))

	got := b.delivery(t, d.ID)
	require.Equal(t, store.WebhookDeliveryPending, got.Status, "a failed attempt frees the slot; the workflow settles")
	require.Equal(t, 2, got.AttemptCount)
	require.Equal(t, 503, *got.LastStatusCode)
	require.Nil(t, got.LeaseExpiresAt)
	endpoint, err := store.GetWebhookEndpoint(b.ctx, b.st.DB, ep.ID)
	require.NoError(t, err)
	require.NotNil(t, endpoint.FailingSince)
}

func TestSendWebhookSuccessAndRotation(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	rc := newReceiver(t, statusHandler(http.StatusNoContent))
	integrator := "rm-" + uuid.NewString()[:8]
	ep, oldSecret := b.addEndpoint(t, integrator, rc.URL)
	// Rotation: the old secret signs for 24 h more, the new one from now.
	require.NoError(t, store.ExpireWebhookSecrets(b.ctx, b.st.DB, ep.ID, b.clock().Add(24*time.Hour)))
	newSecret := b.addSecret(t, ep, b.clock())
	res := b.emit(t, integrator)
	d := b.deliveries(t, res.EventID)[0]

	require.Equal(t, activities.ClaimAcquired, b.claim(t, d).Outcome)
	sent := b.send(t, d, 1)
	require.Equal(t, http.StatusNoContent, sent.StatusCode)
	r, body := rc.requests[0], rc.bodies[0]
	require.Len(t, strings.Fields(r.Header.Get("webhook-signature")), 2, "one signature per valid secret during the overlap")
	require.NoError(t, signing.Verify([]string{oldSecret}, r.Header, body, 0), "a receiver still on the old secret verifies")
	require.NoError(t, signing.Verify([]string{newSecret}, r.Header, body, 0), "and one already on the new secret too")
	require.NoError(t, signing.VerifyRDSignature([]string{newSecret}, r.Header, body), "X-RD-Signature uses the newest secret")
	require.Error(t, signing.VerifyRDSignature([]string{oldSecret}, r.Header, body))

	got := b.delivery(t, d.ID)
	require.Equal(t, store.WebhookDeliverySucceeded, got.Status)
	require.NotNil(t, got.CompletedAt)
	require.Nil(t, got.LeaseExpiresAt)

	// After the overlap only the new secret signs.
	b.advance(25 * time.Hour)
	res = b.emit(t, integrator)
	d = b.deliveries(t, res.EventID)[0]
	require.Equal(t, activities.ClaimAcquired, b.claim(t, d).Outcome)
	b.send(t, d, 1)
	require.Len(t, strings.Fields(rc.requests[1].Header.Get("webhook-signature")), 1)
	require.NoError(t, signing.VerifyAt([]string{newSecret}, rc.requests[1].Header, rc.bodies[1], 0, b.clock()))
}

func TestSendWebhookDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	target := newReceiver(t, statusHandler(http.StatusOK))
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/metadata", http.StatusFound)
	})
	integrator := "rm-" + uuid.NewString()[:8]
	b.addEndpoint(t, integrator, rc.URL)
	d := b.deliveries(t, b.emit(t, integrator).EventID)[0]
	require.Equal(t, activities.ClaimAcquired, b.claim(t, d).Outcome)
	sent := b.send(t, d, 1)
	require.Equal(t, http.StatusFound, sent.StatusCode, "the redirect is the attempt's answer: a failure")
	require.Empty(t, target.requests, "the redirect target is never called")
	require.Equal(t, store.WebhookDeliveryPending, b.delivery(t, d.ID).Status)
}

func TestSendWebhookRefusesPrivateAddressesAtDial(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	b.acts.HTTP = netguard.NewClient(netguard.Config{Timeout: 2 * time.Second}) // production: private refused
	rc := newReceiver(t, statusHandler(http.StatusOK))
	port := rc.URL[strings.LastIndex(rc.URL, ":"):]
	// Each endpoint is stored directly, as if its name had resolved to a
	// public address at creation and to a private one now (DNS rebinding).
	for _, url := range []string{rc.URL, "http://localhost" + port, "http://[::1]" + port} {
		integrator := "rm-" + uuid.NewString()[:8]
		b.addEndpoint(t, integrator, url)
		d := b.deliveries(t, b.emit(t, integrator).EventID)[0]
		require.Equal(t, activities.ClaimAcquired, b.claim(t, d).Outcome)
		sent := b.send(t, d, 1)
		require.Equal(t, 0, sent.StatusCode, url)
		require.Contains(t, sent.Error, "netguard: refusing to connect", url)
		require.Contains(t, sent.Error, "loopback", url)
		attempts, err := store.ListWebhookAttempts(b.ctx, b.st.DB, []uuid.UUID{d.ID})
		require.NoError(t, err)
		require.Len(t, attempts, 1, "the refused attempt is logged")
		require.Contains(t, attempts[0].Error, "netguard")
	}
	require.Empty(t, rc.requests, "nothing reached the receiver")
}

func TestClaimWebhookSlotMetersPerEndpoint(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	rc := newReceiver(t, statusHandler(http.StatusOK))
	integrator := "rm-" + uuid.NewString()[:8]
	b.addEndpoint(t, integrator, rc.URL, func(e *store.WebhookEndpoint) { e.MaxInFlight = 2 })
	other := "rm-" + uuid.NewString()[:8]
	b.addEndpoint(t, other, rc.URL)

	var ds []store.WebhookDelivery
	for range 4 {
		ds = append(ds, b.deliveries(t, b.emit(t, integrator).EventID)[0])
	}
	// Two slots: the first two get them, the others queue in order.
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[0]).Outcome)
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[1]).Outcome)
	b.advance(time.Second)
	wait := b.claim(t, ds[3])
	require.Equal(t, activities.ClaimWait, wait.Outcome)
	require.Equal(t, 2, wait.Ahead)
	b.advance(time.Second)
	require.Equal(t, activities.ClaimWait, b.claim(t, ds[2]).Outcome)
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[0]).Outcome, "claiming again keeps the slot")

	// Another endpoint is not affected at all.
	otherDelivery := b.deliveries(t, b.emit(t, other).EventID)[0]
	require.Equal(t, activities.ClaimAcquired, b.claim(t, otherDelivery).Outcome)

	// A slot frees: the head of the queue (ds[3], queued first) is woken,
	// and only it may take the slot.
	b.send(t, ds[0], 1)
	_, woken, _ := b.temporal.snapshot()
	require.Equal(t, []string{webhook.DeliveryWorkflowID(ds[3].ID)}, woken)
	require.Equal(t, activities.ClaimWait, b.claim(t, ds[2]).Outcome, "ds[3] is ahead")
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[3]).Outcome)
	require.Equal(t, activities.ClaimWait, b.claim(t, ds[2]).Outcome, "both slots taken again")

	// A lost worker's slot frees itself when its lease runs out.
	b.advance(activities.DefaultWebhookClaimLease + time.Second)
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[2]).Outcome)
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[3]).Outcome, "ds[3]'s run renews its lease")
	// The lost send finds its lease lapsed and the slots taken: it sends
	// nothing and counts nothing.
	lapsed := b.send(t, ds[1], 1)
	require.Equal(t, activities.SendLapsed, lapsed.Outcome)
	require.Equal(t, 0, b.delivery(t, ds[1].ID).AttemptCount)
}

func TestClaimWebhookSlotAfterItsLeaseRanOut(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	integrator := "rm-" + uuid.NewString()[:8]
	b.addEndpoint(t, integrator, "https://example.com", func(e *store.WebhookEndpoint) { e.MaxInFlight = 1 })
	var ds []store.WebhookDelivery
	for range 2 {
		ds = append(ds, b.deliveries(t, b.emit(t, integrator).EventID)[0])
	}
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[0]).Outcome)
	b.advance(activities.DefaultWebhookClaimLease + time.Second)
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[1]).Outcome, "ds[0]'s lapsed slot is free")

	// ds[0]'s run claims again: its slot is gone, so it waits rather than
	// renewing a lease it no longer has (two sends on a one-slot endpoint).
	wait := b.claim(t, ds[0])
	require.Equal(t, activities.ClaimWait, wait.Outcome)
	require.Equal(t, 1, wait.Ahead)
	d0 := b.delivery(t, ds[0].ID)
	require.Equal(t, store.WebhookDeliveryPending, d0.Status, "it waits in the queue like any other")
	require.Nil(t, d0.LeaseExpiresAt)
	require.NotNil(t, d0.QueuedAt)
}

func TestSendWebhookLapsedLeaseYieldsToWaiters(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	rc := newReceiver(t, statusHandler(http.StatusOK))
	integrator := "rm-" + uuid.NewString()[:8]
	b.addEndpoint(t, integrator, rc.URL, func(e *store.WebhookEndpoint) { e.MaxInFlight = 1 })
	var ds []store.WebhookDelivery
	for range 2 {
		ds = append(ds, b.deliveries(t, b.emit(t, integrator).EventID)[0])
	}
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[0]).Outcome)
	require.Equal(t, activities.ClaimWait, b.claim(t, ds[1]).Outcome)

	// ds[0]'s lease runs out before it sends; no one holds the slot, but
	// ds[1] waits for it: ds[0] sends nothing and queues behind it.
	b.advance(activities.DefaultWebhookClaimLease + time.Second)
	require.Equal(t, activities.SendLapsed, b.send(t, ds[0], 1).Outcome)
	require.Equal(t, 0, b.delivery(t, ds[0].ID).AttemptCount)
	require.Empty(t, rc.requests)
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[1]).Outcome)
	require.Equal(t, activities.ClaimWait, b.claim(t, ds[0]).Outcome)
}

func TestClaimWebhookSlotSkipsStaleWaiters(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	integrator := "rm-" + uuid.NewString()[:8]
	b.addEndpoint(t, integrator, "https://example.com", func(e *store.WebhookEndpoint) { e.MaxInFlight = 1 })
	var ds []store.WebhookDelivery
	for range 3 {
		ds = append(ds, b.deliveries(t, b.emit(t, integrator).EventID)[0])
	}
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[0]).Outcome)
	require.Equal(t, activities.ClaimWait, b.claim(t, ds[1]).Outcome)
	b.advance(time.Second)
	require.Equal(t, activities.ClaimWait, b.claim(t, ds[2]).Outcome)
	// ds[0] finishes; ds[1]'s workflow stopped asking (terminated by hand).
	d0 := b.delivery(t, ds[0].ID)
	d0.Status, d0.LeaseExpiresAt = store.WebhookDeliverySucceeded, nil
	require.NoError(t, store.UpdateWebhookDelivery(b.ctx, b.st.DB, d0, b.clock(), "status", "lease_expires_at"))
	require.Equal(t, activities.ClaimWait, b.claim(t, ds[2]).Outcome, "ds[1] still counts as ahead")
	b.advance(3 * time.Minute)
	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[2]).Outcome, "a waiter silent past StaleAfter no longer blocks")
}

func TestClaimWebhookSlotHoldsAndStops(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	integrator := "rm-" + uuid.NewString()[:8]
	ep, _ := b.addEndpoint(t, integrator, "https://example.com")
	var ds []store.WebhookDelivery
	for range 2 {
		ds = append(ds, b.deliveries(t, b.emit(t, integrator).EventID)[0])
	}

	stale, err := b.acts.ClaimWebhookSlot(b.ctx, activities.ClaimWebhookSlotInput{DeliveryID: ds[0].ID, Generation: 2})
	require.NoError(t, err)
	require.Equal(t, activities.ClaimStop, stale.Outcome, "a run of another generation stops")

	_, err = store.DisableWebhookEndpoint(b.ctx, b.st.DB, ep.ID, store.WebhookDisabledManual, b.clock())
	require.NoError(t, err)
	require.Equal(t, activities.ClaimHeld, b.claim(t, ds[0]).Outcome)
	require.Equal(t, store.WebhookDeliveryPending, b.delivery(t, ds[0].ID).Status, "held deliveries stay pending")

	now := b.clock()
	ep.DeletedAt = &now
	require.NoError(t, store.UpdateWebhookEndpoint(b.ctx, b.st.DB, ep, now, "deleted_at"))
	require.Equal(t, activities.ClaimStop, b.claim(t, ds[1]).Outcome)
	require.Equal(t, store.WebhookDeliveryCancelled, b.delivery(t, ds[1].ID).Status, "deliveries to a deleted endpoint are cancelled")

	_, err = b.acts.ClaimWebhookSlot(b.ctx, activities.ClaimWebhookSlotInput{DeliveryID: uuid.New(), Generation: 1})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, activities.ErrTypeWebhookDeliveryNotFound, appErr.Type())
}

func TestSettleWebhookDeliveryGoneCancelsTheEndpoint(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	rc := newReceiver(t, statusHandler(http.StatusGone))
	integrator := "rm-" + uuid.NewString()[:8]
	ep, _ := b.addEndpoint(t, integrator, rc.URL)
	var ds []store.WebhookDelivery
	for range 3 {
		ds = append(ds, b.deliveries(t, b.emit(t, integrator).EventID)[0])
	}
	// ds[2] already succeeded and must stay so.
	d2 := b.delivery(t, ds[2].ID)
	d2.Status = store.WebhookDeliverySucceeded
	require.NoError(t, store.UpdateWebhookDelivery(b.ctx, b.st.DB, d2, b.clock(), "status"))

	require.Equal(t, activities.ClaimAcquired, b.claim(t, ds[0]).Outcome)
	require.Equal(t, http.StatusGone, b.send(t, ds[0], 1).StatusCode)
	res, err := b.acts.SettleWebhookDelivery(b.ctx, activities.SettleWebhookDeliveryInput{
		DeliveryID: ds[0].ID, Generation: 1, Outcome: activities.SettleGone,
	})
	require.NoError(t, err)
	require.True(t, res.EndpointDisabled)

	got, err := store.GetWebhookEndpoint(b.ctx, b.st.DB, ep.ID)
	require.NoError(t, err)
	require.Equal(t, store.WebhookEndpointDisabled, got.Status)
	require.Equal(t, store.WebhookDisabledGone, got.DisabledReason)
	require.Equal(t, store.WebhookDeliveryCancelled, b.delivery(t, ds[0].ID).Status)
	require.Equal(t, store.WebhookDeliveryCancelled, b.delivery(t, ds[1].ID).Status)
	require.Equal(t, store.WebhookDeliverySucceeded, b.delivery(t, ds[2].ID).Status)
	_, _, cancelled := b.temporal.snapshot()
	require.Equal(t, []string{webhook.DeliveryWorkflowID(ds[1].ID)}, cancelled, "the other pending delivery's workflow is cancelled")

	// Events after that are recorded for the disabled endpoint, not started.
	before, _, _ := b.temporal.snapshot()
	held := b.emit(t, integrator)
	require.Equal(t, 1, held.Held)
	after, _, _ := b.temporal.snapshot()
	require.Equal(t, before, after)
}

func TestSettleWebhookDeliveryDisablesAfterFiveDaysOfFailures(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	rc := newReceiver(t, statusHandler(http.StatusInternalServerError))
	integrator := "rm-" + uuid.NewString()[:8]
	ep, _ := b.addEndpoint(t, integrator, rc.URL)

	fail := func() activities.SettleWebhookDeliveryResult {
		d := b.deliveries(t, b.emit(t, integrator).EventID)[0]
		require.Equal(t, activities.ClaimAcquired, b.claim(t, d).Outcome)
		b.send(t, d, 1)
		res, err := b.acts.SettleWebhookDelivery(b.ctx, activities.SettleWebhookDeliveryInput{
			DeliveryID: d.ID, Generation: 1, Outcome: activities.SettleRetry, NextAttemptAt: b.clock().Add(time.Hour),
		})
		require.NoError(t, err)
		return res
	}
	require.False(t, fail().EndpointDisabled)
	b.advance(4 * 24 * time.Hour)
	require.False(t, fail().EndpointDisabled, "4 days of failures are not enough")

	// A success resets the clock.
	rc.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	d := b.deliveries(t, b.emit(t, integrator).EventID)[0]
	require.Equal(t, activities.ClaimAcquired, b.claim(t, d).Outcome)
	require.Equal(t, http.StatusOK, b.send(t, d, 1).StatusCode)
	rc.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })

	b.advance(2 * 24 * time.Hour)
	require.False(t, fail().EndpointDisabled, "the failing clock restarted at the success")
	b.advance(5*24*time.Hour + time.Minute)
	require.True(t, fail().EndpointDisabled, "5 days of nothing but failures disable it")
	got, err := store.GetWebhookEndpoint(b.ctx, b.st.DB, ep.ID)
	require.NoError(t, err)
	require.Equal(t, store.WebhookDisabledFailing, got.DisabledReason)
}

func TestAbandonWebhookAttempt(t *testing.T) {
	t.Parallel()
	b := setupWebhooks(t)
	integrator := "rm-" + uuid.NewString()[:8]
	b.addEndpoint(t, integrator, "https://example.com")
	d := b.deliveries(t, b.emit(t, integrator).EventID)[0]
	require.Equal(t, activities.ClaimAcquired, b.claim(t, d).Outcome)

	// The send never started: nothing counts, the slot is released.
	res, err := b.acts.AbandonWebhookAttempt(b.ctx, activities.AbandonWebhookAttemptInput{DeliveryID: d.ID, Generation: 1, Seq: 1, Reason: "lost"})
	require.NoError(t, err)
	require.False(t, res.Counted)
	require.Equal(t, store.WebhookDeliveryPending, b.delivery(t, d.ID).Status)

	// The send started (its row exists) but its worker was lost.
	require.Equal(t, activities.ClaimAcquired, b.claim(t, d).Outcome)
	got := b.delivery(t, d.ID)
	started := b.clock()
	require.NoError(t, store.InsertWebhookAttempt(b.ctx, b.st.DB, &store.WebhookAttempt{
		DeliveryRootID: d.ID, Generation: 1, Seq: 1, StartedAt: &started,
	}))
	got.AttemptCount = 1
	require.NoError(t, store.UpdateWebhookDelivery(b.ctx, b.st.DB, got, started, "attempt_count"))
	for range 2 { // idempotent
		res, err = b.acts.AbandonWebhookAttempt(b.ctx, activities.AbandonWebhookAttemptInput{
			DeliveryID: d.ID, Generation: 1, Seq: 1, Reason: "activity timed out",
		})
		require.NoError(t, err)
		require.True(t, res.Counted)
	}
	attempts, err := store.ListWebhookAttempts(b.ctx, b.st.DB, []uuid.UUID{d.ID})
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Equal(t, "no outcome recorded: activity timed out", attempts[0].Error)
	got = b.delivery(t, d.ID)
	require.Equal(t, store.WebhookDeliveryPending, got.Status)
	require.Nil(t, got.LeaseExpiresAt)
	require.Equal(t, attempts[0].Error, got.LastError)
}
