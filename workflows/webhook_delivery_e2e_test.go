package workflows_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/netguard"
	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/internal/secrets"
	"github.com/reviewdata/rd/internal/signing"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
	temporaldev "github.com/reviewdata/rd/temporal-dev"
	"github.com/reviewdata/rd/workflows"
)

// hookE2E is webhook delivery for real: the embedded Temporal server, a
// fresh PostgreSQL database, workers on a task queue of the test's own, and
// httptest receivers that verify every signature with signing.Verify.
type hookE2E struct {
	ctx      context.Context
	st       *store.Store
	client   client.Client
	keys     *secrets.Keyring
	starter  *webhook.Starter
	acts     *activities.WebhookActivities
	service  *service.Webhooks
	workerMu sync.Mutex
	worker   sdkworker.Worker
	slots    int // activity slots per worker; 0 means the SDK default
}

// shortPolicy keeps the published shape (8 attempts, jitter) but in
// sub-second waits, as WEBHOOK_SCHEDULE allows for tests.
func shortPolicy() webhook.Policy {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	return webhook.Policy{
		Schedule:     []time.Duration{0, ms(200), ms(200), ms(200), ms(200), ms(200), ms(200), ms(200)},
		PollInterval: time.Second,
		SendTimeout:  4 * time.Second,
	}
}

func setupHookE2E(t *testing.T, allowPrivate bool) *hookE2E {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	keys, err := secrets.ParseKeys(secrets.GenerateKey())
	require.NoError(t, err)
	e := &hookE2E{ctx: ctx, st: pgtest.NewStore(t), client: temporaldev.Shared(t).NewClient(t), keys: keys}
	e.starter = &webhook.Starter{Client: e.client, Policy: shortPolicy(), TaskQueue: "webhook-e2e-" + uuid.NewString()[:8]}
	e.acts = &activities.WebhookActivities{
		Store:   e.st,
		Secrets: keys,
		HTTP:    netguard.NewClient(netguard.Config{AllowPrivate: allowPrivate, Timeout: 2 * time.Second}),
		Starter: e.starter,
		Config:  activities.WebhookConfig{HTTPTimeout: 2 * time.Second},
	}
	e.service = &service.Webhooks{Store: e.st, Secrets: keys, Starter: e.starter, Config: service.WebhooksConfig{AllowPrivate: true}}
	t.Cleanup(e.stopWorker)
	return e
}

// startWorker runs a webhook-delivery worker for the test's queue, as
// worker.Run registers it.
func (e *hookE2E) startWorker(t *testing.T) {
	t.Helper()
	w := sdkworker.New(e.client, e.starter.TaskQueue, sdkworker.Options{MaxConcurrentActivityExecutionSize: e.slots})
	w.RegisterWorkflowWithOptions(workflows.WebhookDeliveryWorkflow, workflow.RegisterOptions{Name: webhook.DeliveryWorkflowName})
	w.RegisterActivity(e.acts)
	require.NoError(t, w.Start())
	e.workerMu.Lock()
	e.worker = w
	e.workerMu.Unlock()
}

func (e *hookE2E) stopWorker() {
	e.workerMu.Lock()
	w := e.worker
	e.worker = nil
	e.workerMu.Unlock()
	if w != nil {
		w.Stop()
	}
}

// endpoint creates an integrator's endpoint at url through the service, as
// the API does, and returns it with its secret.
func (e *hookE2E) endpoint(t *testing.T, url string, maxInFlight int) (*service.Endpoint, string, service.Integrator) {
	t.Helper()
	who := service.Integrator{Name: "rm-" + uuid.NewString()[:8]}
	ep, secret, err := e.service.CreateEndpoint(e.ctx, who, service.EndpointSpec{
		URL: url, EventTypes: []string{"DATA_RESULT"}, MaxInFlight: maxInFlight,
	})
	require.NoError(t, err)
	return ep, secret, who
}

// emit runs the EmitWebhook activity as a workflow would and returns the
// event's one delivery.
func (e *hookE2E) emit(t *testing.T, integrator string) store.WebhookDelivery {
	t.Helper()
	data, err := json.Marshal(webhook.DataResult{Job: webhook.Job{TaskID: uuid.New(), PublisherKey: "yelp"}, Status: "COMPLETED", ReviewCount: 3})
	require.NoError(t, err)
	res, err := e.acts.EmitWebhook(e.ctx, activities.EmitWebhookInput{
		Integrator: integrator, EventType: webhook.EventDataResult, SubjectID: uuid.NewString(), RequestID: "req-e2e", Data: data,
	})
	require.NoError(t, err)
	var ds []store.WebhookDelivery
	require.NoError(t, e.st.DB.NewSelect().Model(&ds).Where("event_id = ?", res.EventID).Scan(e.ctx))
	require.Len(t, ds, 1)
	return ds[0]
}

// result waits for the delivery's current workflow run to end.
func (e *hookE2E) result(t *testing.T, d store.WebhookDelivery) workflows.WebhookDeliveryResult {
	t.Helper()
	var res workflows.WebhookDeliveryResult
	require.NoError(t, e.client.GetWorkflow(e.ctx, webhook.DeliveryWorkflowID(d.ID), "").Get(e.ctx, &res))
	return res
}

// history returns the recorded history of the delivery's latest run.
func (e *hookE2E) history(t *testing.T, d store.WebhookDelivery) *historypb.History {
	t.Helper()
	iter := e.client.GetWorkflowHistory(e.ctx, webhook.DeliveryWorkflowID(d.ID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	return h
}

func (e *hookE2E) delivery(t *testing.T, id uuid.UUID) *service.DeliveryDetail {
	t.Helper()
	d, err := e.service.GetDelivery(e.ctx, id)
	require.NoError(t, err)
	return d
}

func (e *hookE2E) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, time.Minute, 50*time.Millisecond, what)
}

// hookReceiver is an integrator's endpoint. It verifies each request with
// signing.Verify (nothing but the secret and the request) and answers with
// respond's status.
type hookReceiver struct {
	*httptest.Server
	secret string

	mu       sync.Mutex
	requests []http.Header
	verified []error
	inFlight int
	maxSeen  int
	respond  func(n int) int // status for the n-th request (1-based)
	hold     chan struct{}   // when set, requests wait for it to close
}

func newHookReceiver(t *testing.T, respond func(n int) int) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, r.Header.Clone())
		rc.verified = append(rc.verified, signing.Verify([]string{rc.secret}, r.Header, body, 0))
		n := len(rc.requests)
		rc.inFlight++
		rc.maxSeen = max(rc.maxSeen, rc.inFlight)
		hold, respond := rc.hold, rc.respond
		rc.mu.Unlock()
		defer func() {
			rc.mu.Lock()
			rc.inFlight--
			rc.mu.Unlock()
		}()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(respond(n))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

func (rc *hookReceiver) headers() ([]http.Header, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]http.Header(nil), rc.requests...), append([]error(nil), rc.verified...)
}

// requireSigned checks every request verified and, unless webhookID is
// empty, carried webhookID; it returns their X-RD-Delivery-Id values.
func (rc *hookReceiver) requireSigned(t *testing.T, webhookID string) []string {
	t.Helper()
	hs, verified := rc.headers()
	var ids []string
	for i, h := range hs {
		require.NoError(t, verified[i], "request %d verifies with signing.Verify", i+1)
		if webhookID != "" {
			require.Equal(t, webhookID, h.Get("webhook-id"), "request %d: webhook-id is stable", i+1)
		}
		ids = append(ids, h.Get("X-RD-Delivery-Id"))
	}
	return ids
}

func attemptIDs(d *service.DeliveryDetail) []string {
	var ids []string
	for _, a := range d.Attempts {
		ids = append(ids, a.ID.String())
	}
	return ids
}

func TestWebhookE2EFailsThreeTimesThenSucceeds(t *testing.T) {
	t.Parallel()
	e := setupHookE2E(t, true)
	e.startWorker(t)
	rc := newHookReceiver(t, func(n int) int {
		if n <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	_, secret, who := e.endpoint(t, rc.URL, 0)
	rc.secret = secret

	d := e.emit(t, who.Name)
	res := e.result(t, d)
	require.Equal(t, workflows.DeliverySucceeded, res.State)
	require.Equal(t, 4, res.Attempts)

	require.Equal(t, 4, rc.count())
	ids := rc.requireSigned(t, webhook.WebhookID(d.ID))
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	require.Len(t, seen, 4, "4 distinct delivery_ids")

	got := e.delivery(t, d.ID)
	require.Equal(t, store.WebhookDeliverySucceeded, got.Status)
	require.Equal(t, 4, got.AttemptCount)
	require.Equal(t, ids, attemptIDs(got), "every attempt is logged under the delivery_id it was sent with")

	// The recorded history replays deterministically, and carries no body:
	// bodies stay in PostgreSQL.
	history := e.history(t, d)
	replayer := sdkworker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(workflows.WebhookDeliveryWorkflow, workflow.RegisterOptions{Name: webhook.DeliveryWorkflowName})
	require.NoError(t, replayer.ReplayWorkflowHistory(nil, history))
	// In the binary encoding payload bytes appear verbatim.
	raw, err := proto.Marshal(history)
	require.NoError(t, err)
	require.Contains(t, string(raw), d.ID.String(), "the delivery id is in the input")
	require.NotContains(t, string(raw), "review_count", "the payload is not")
	require.NotContains(t, string(raw), d.EventID.String(), "not even the event id: activities read it from the delivery row")
	for i, a := range got.Attempts {
		require.Equal(t, i+1, a.Seq)
		want := http.StatusInternalServerError
		if i == 3 {
			want = http.StatusOK
		}
		require.Equal(t, want, *a.StatusCode)
	}
}

func TestWebhookE2EDeadLetterThenReplay(t *testing.T) {
	t.Parallel()
	e := setupHookE2E(t, true)
	e.startWorker(t)
	var mu sync.Mutex
	healthy := false
	rc := newHookReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if healthy {
			return http.StatusNoContent
		}
		return http.StatusServiceUnavailable
	})
	_, secret, who := e.endpoint(t, rc.URL, 0)
	rc.secret = secret

	d := e.emit(t, who.Name)
	res := e.result(t, d)
	require.Equal(t, workflows.DeliveryDeadLettered, res.State)
	require.Equal(t, 8, rc.count(), "dead-lettered after the eighth attempt")
	dead := e.delivery(t, d.ID)
	require.Equal(t, store.WebhookDeliveryDeadLettered, dead.Status)
	require.Len(t, dead.Attempts, 8)

	_, err := e.service.ReplayDelivery(e.ctx, uuid.New())
	var se *service.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, service.CodeWebhookDeliveryNotFound, se.Code)

	mu.Lock()
	healthy = true
	mu.Unlock()
	replayed, err := e.service.ReplayDelivery(e.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, 2, replayed.Generation)
	res = e.result(t, d)
	require.Equal(t, workflows.DeliverySucceeded, res.State)

	require.Equal(t, 9, rc.count())
	ids := rc.requireSigned(t, webhook.WebhookID(d.ID))
	got := e.delivery(t, d.ID)
	require.Equal(t, store.WebhookDeliverySucceeded, got.Status)
	require.Equal(t, 9, got.AttemptCount)
	require.Equal(t, ids, attemptIDs(got))
	last := got.Attempts[8]
	require.Equal(t, 2, last.Generation)
	require.Equal(t, 1, last.Seq, "the replay runs a fresh schedule")
	require.NotContains(t, ids[:8], ids[8], "the replay has a fresh delivery_id")

	_, err = e.service.ReplayDelivery(e.ctx, d.ID)
	require.ErrorAs(t, err, &se)
	require.Equal(t, service.CodeWebhookDeliveryNotDeadLettered, se.Code, "a delivered webhook is not replayed")
}

func TestWebhookE2ERecoverReplaysAnEndpointsDeadLetters(t *testing.T) {
	t.Parallel()
	e := setupHookE2E(t, true)
	e.starter.Policy.Schedule = []time.Duration{0}
	e.startWorker(t)
	var mu sync.Mutex
	healthy := false
	rc := newHookReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if healthy {
			return http.StatusOK
		}
		return http.StatusBadGateway
	})
	ep, secret, who := e.endpoint(t, rc.URL, 0)
	rc.secret = secret
	var ds []store.WebhookDelivery
	for range 3 {
		d := e.emit(t, who.Name)
		require.Equal(t, workflows.DeliveryDeadLettered, e.result(t, d).State)
		ds = append(ds, d)
	}
	mu.Lock()
	healthy = true
	mu.Unlock()

	n, err := e.service.RecoverEndpoint(e.ctx, ep.ID, ds[1].CreatedAt)
	require.NoError(t, err)
	require.Equal(t, 2, n, "only dead letters since the time asked")
	for _, d := range ds[1:] {
		require.Equal(t, workflows.DeliverySucceeded, e.result(t, d).State)
	}
	require.Equal(t, store.WebhookDeliveryDeadLettered, e.delivery(t, ds[0].ID).Status)
	rc.requireSigned(t, "")
}

func TestWebhookE2EGoneDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	e := setupHookE2E(t, true)
	e.startWorker(t)
	rc := newHookReceiver(t, func(int) int { return http.StatusGone })
	ep, secret, who := e.endpoint(t, rc.URL, 0)
	rc.secret = secret

	d := e.emit(t, who.Name)
	require.Equal(t, workflows.DeliveryGone, e.result(t, d).State)
	require.Equal(t, 1, rc.count(), "no retry after 410")
	require.Equal(t, store.WebhookDeliveryCancelled, e.delivery(t, d.ID).Status)
	got, err := e.service.GetEndpoint(e.ctx, who, ep.ID)
	require.NoError(t, err)
	require.Equal(t, store.WebhookEndpointDisabled, got.Status)
	require.Equal(t, store.WebhookDisabledGone, got.DisabledReason)

	// Later events are recorded, and no workflow starts for them.
	held := e.emit(t, who.Name)
	require.Equal(t, store.WebhookDeliveryPending, e.delivery(t, held.ID).Status)
	_, err = e.client.DescribeWorkflowExecution(e.ctx, webhook.DeliveryWorkflowID(held.ID), "")
	var notFound *serviceerror.NotFound
	require.ErrorAs(t, err, &notFound, "no workflow for a disabled endpoint's delivery")

	// Re-enabling resumes it.
	rc.mu.Lock()
	rc.respond = func(int) int { return http.StatusOK }
	rc.mu.Unlock()
	enabled := true
	_, err = e.service.UpdateEndpoint(e.ctx, who, ep.ID, service.EndpointChange{Enabled: &enabled})
	require.NoError(t, err)
	require.Equal(t, workflows.DeliverySucceeded, e.result(t, held).State)
	require.Equal(t, 2, rc.count())
	rc.requireSigned(t, "")
}

func TestWebhookE2ESSRFIsRefusedAtDial(t *testing.T) {
	t.Parallel()
	e := setupHookE2E(t, false) // the production client: private addresses refused
	e.starter.Policy.Schedule = []time.Duration{0, 100 * time.Millisecond}
	e.startWorker(t)
	rc := newHookReceiver(t, func(int) int { return http.StatusOK })
	_, port, _ := netSplit(rc.URL)

	// Stored as if each name had resolved to a public address when the
	// endpoint was created and to a private one now (DNS rebinding).
	for _, url := range []string{rc.URL, "http://localhost:" + port, "http://[::1]:" + port} {
		who := "rm-" + uuid.NewString()[:8]
		ep := &store.WebhookEndpoint{Integrator: who, URL: url, EventTypes: []string{"DATA_RESULT"}}
		require.NoError(t, store.InsertWebhookEndpoint(e.ctx, e.st.DB, ep))
		ct, err := e.keys.Encrypt(signing.GenerateSecret())
		require.NoError(t, err)
		require.NoError(t, store.InsertWebhookSecret(e.ctx, e.st.DB, &store.WebhookSecret{EndpointID: ep.ID, Ciphertext: ct}))

		d := e.emit(t, who)
		require.Equal(t, workflows.DeliveryDeadLettered, e.result(t, d).State, url)
		got := e.delivery(t, d.ID)
		require.Len(t, got.Attempts, 2, url)
		for _, a := range got.Attempts {
			require.Nil(t, a.StatusCode, url)
			require.Contains(t, a.Error, "netguard: refusing to connect", url)
		}
	}
	require.Zero(t, rc.count(), "nothing reached the receiver")
}

func TestWebhookE2ERedirectIsNotFollowed(t *testing.T) {
	t.Parallel()
	e := setupHookE2E(t, true)
	e.starter.Policy.Schedule = []time.Duration{0}
	e.startWorker(t)
	// The target stands for a private address (cloud metadata) a
	// redirect would lead to.
	target := newHookReceiver(t, func(int) int { return http.StatusOK })
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/latest/meta-data/", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	_, _, who := e.endpoint(t, redirector.URL, 0)

	d := e.emit(t, who.Name)
	require.Equal(t, workflows.DeliveryDeadLettered, e.result(t, d).State)
	require.Equal(t, http.StatusTemporaryRedirect, *e.delivery(t, d.ID).Attempts[0].StatusCode)
	require.Zero(t, target.count(), "the redirect is never followed")
}

func TestWebhookE2EWorkerLostMidDelivery(t *testing.T) {
	t.Parallel()
	e := setupHookE2E(t, true)
	e.startWorker(t)
	rc := newHookReceiver(t, func(int) int { return http.StatusOK })
	rc.hold = make(chan struct{}) // the first request hangs
	_, secret, who := e.endpoint(t, rc.URL, 0)
	rc.secret = secret

	d := e.emit(t, who.Name)
	e.eventually(t, "the first attempt arrives", func() bool { return rc.count() == 1 })
	// The worker goes away mid-request; a new one takes over.
	e.stopWorker()
	rc.mu.Lock()
	rc.hold = nil // later requests are answered at once
	rc.mu.Unlock()
	e.startWorker(t)

	res := e.result(t, d)
	require.Equal(t, workflows.DeliverySucceeded, res.State)
	ids := rc.requireSigned(t, webhook.WebhookID(d.ID))
	got := e.delivery(t, d.ID)
	require.Equal(t, store.WebhookDeliverySucceeded, got.Status)
	require.Len(t, got.Attempts, 2, "the lost attempt and the one that succeeded")
	require.Equal(t, ids, attemptIDs(got))
	lost := got.Attempts[0]
	require.NotNil(t, lost.FinishedAt, "the lost attempt is closed in the log")
	require.NotEmpty(t, lost.Error)
	require.Nil(t, lost.StatusCode)
	require.Equal(t, http.StatusOK, *got.Attempts[1].StatusCode)
}

func TestWebhookE2EHangingEndpointDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	e := setupHookE2E(t, true)
	// Few activity slots: were A's deliveries not metered, A's hanging
	// requests would take every slot and B would wait behind them.
	e.slots = 4
	e.acts.Config.HTTPTimeout = 20 * time.Second
	e.acts.HTTP = netguard.NewClient(netguard.Config{AllowPrivate: true, Timeout: 20 * time.Second})
	e.starter.Policy.SendTimeout = 30 * time.Second
	e.startWorker(t)

	hanging := newHookReceiver(t, func(int) int { return http.StatusOK })
	hanging.hold = make(chan struct{})
	_, secretA, whoA := e.endpoint(t, hanging.URL, 2)
	hanging.secret = secretA
	fast := newHookReceiver(t, func(int) int { return http.StatusOK })
	_, secretB, whoB := e.endpoint(t, fast.URL, 0)
	fast.secret = secretB

	var as []store.WebhookDelivery
	for range 8 {
		as = append(as, e.emit(t, whoA.Name))
	}
	e.eventually(t, "A's first requests hang", func() bool { return hanging.count() >= 2 })
	var bs []store.WebhookDelivery
	for range 5 {
		bs = append(bs, e.emit(t, whoB.Name))
	}
	for _, d := range bs {
		require.Equal(t, workflows.DeliverySucceeded, e.result(t, d).State)
	}
	// B is done while A's requests still hang: A never held more than its
	// two slots, and the other six wait their turn in the queue.
	require.Equal(t, 2, hanging.count())
	hanging.mu.Lock()
	require.Equal(t, 2, hanging.inFlight)
	hanging.mu.Unlock()
	var queued int
	for _, d := range as {
		if got := e.delivery(t, d.ID); got.QueuedAt != nil {
			queued++
		}
	}
	require.Equal(t, 6, queued)

	close(hanging.hold)
	for _, d := range as {
		require.Equal(t, workflows.DeliverySucceeded, e.result(t, d).State)
	}
	require.Equal(t, 8, hanging.count())
	require.LessOrEqual(t, hanging.maxSeen, 2, "never more than max_in_flight requests at once")
	hanging.requireSigned(t, "")
}

func netSplit(rawURL string) (host, port string, err error) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return "", "", err
	}
	return req.URL.Hostname(), req.URL.Port(), nil
}
