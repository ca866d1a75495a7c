package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/reviewdata/rd/internal/buildinfo"
	"github.com/reviewdata/rd/internal/signing"
	"github.com/reviewdata/rd/internal/webhook"
)

func TestPolicyWaitStaysWithinJitterBounds(t *testing.T) {
	t.Parallel()
	p := webhook.Policy{}
	lows, highs := 0, 0
	for range 2000 {
		id := uuid.New()
		require.Zero(t, p.Wait(id, 1, 1), "the first attempt is immediate")
		for seq := 2; seq <= 8; seq++ {
			base := webhook.DefaultSchedule[seq-1]
			w := p.Wait(id, 1, seq)
			require.GreaterOrEqual(t, w, time.Duration(float64(base)*0.8)-time.Millisecond)
			require.LessOrEqual(t, w, time.Duration(float64(base)*1.2)+time.Millisecond)
			require.Equal(t, w, p.Wait(id, 1, seq), "deterministic")
			if w < time.Duration(float64(base)*0.85) {
				lows++
			}
			if w > time.Duration(float64(base)*1.15) {
				highs++
			}
		}
	}
	// Both ends of the range are used: the draw is spread, not stuck.
	require.Greater(t, lows, 1000)
	require.Greater(t, highs, 1000)

	var total time.Duration
	for _, d := range webhook.DefaultSchedule {
		total += d
	}
	require.InDelta(t, 27.6, total.Hours(), 0.05, "8 attempts over about 27.6 hours")
	require.Equal(t, 8, p.Attempts())
}

// startRecorder stands in for the Temporal client: it keeps the input of
// the last workflow started.
type startRecorder struct {
	client.Client
	input any
}

func (c *startRecorder) ExecuteWorkflow(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	c.input = args[0]
	return nil, nil
}

func TestPolicyWithoutJitterWaitsExactly(t *testing.T) {
	t.Parallel()
	schedule := []time.Duration{0, 5 * time.Second, 5 * time.Minute}
	rec := &startRecorder{}
	s := &webhook.Starter{Client: rec, Policy: webhook.Policy{Schedule: schedule, Jitter: -1}}
	d := webhook.Delivery{ID: uuid.New(), Generation: 1, EndpointID: uuid.New(), EventType: webhook.EventDataResult, Integrator: "rm"}
	require.NoError(t, s.Start(t.Context(), d))

	// The workflow gets its input through JSON and applies the defaults
	// again: "no jitter" survives both.
	raw, err := json.Marshal(rec.input)
	require.NoError(t, err)
	var in webhook.DeliveryInput
	require.NoError(t, json.Unmarshal(raw, &in))
	p := in.Policy.WithDefaults()
	for seq, want := range schedule {
		require.Equal(t, want, p.Wait(d.ID, 1, seq+1), "attempt %d", seq+1)
	}
	require.NoError(t, p.Validate())
}

func TestPolicyRetryAfterWait(t *testing.T) {
	t.Parallel()
	p := webhook.Policy{}
	tests := []struct {
		scheduled, retryAfter, want time.Duration
	}{
		{5 * time.Second, time.Second, 60 * time.Second},    // floor
		{5 * time.Second, time.Hour, 60 * time.Second},      // 2x of 5 s is under the floor
		{5 * time.Minute, 7 * time.Minute, 7 * time.Minute}, // honoured
		{5 * time.Minute, time.Minute, 5 * time.Minute},     // never sooner than scheduled
		{30 * time.Minute, 10 * time.Hour, time.Hour},       // capped at 2x
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, p.RetryAfterWait(tt.scheduled, tt.retryAfter), "%+v", tt)
	}
}

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	got, err := webhook.ParseSchedule("0s, 5s,5m,30m,2h,5h,10h,10h")
	require.NoError(t, err)
	require.Equal(t, webhook.DefaultSchedule, got)
	_, err = webhook.ParseSchedule("0s,soon")
	require.ErrorContains(t, err, "entry 2")
	_, err = webhook.ParseSchedule("0s,-5s")
	require.ErrorContains(t, err, "must not be negative")
	_, err = webhook.ParseSchedule(strings.Repeat("1s,", 20) + "1s")
	require.ErrorContains(t, err, "at most 20")
}

func TestHeadersSignBothWays(t *testing.T) {
	t.Parallel()
	newer, older := signing.GenerateSecret(), signing.GenerateSecret()
	delivery, attempt := uuid.New(), uuid.New()
	now := time.Now()
	body, err := webhook.RenderBody(uuid.New(), webhook.EventURLUpdated, now, json.RawMessage(`{"url":"https://x"}`))
	require.NoError(t, err)
	h := webhook.Headers(delivery, attempt, webhook.EventURLUpdated, now, body, newer, older)

	require.Equal(t, "msg_"+delivery.String(), h.Get("webhook-id"))
	require.Equal(t, attempt.String(), h.Get("X-RD-Delivery-Id"))
	require.Equal(t, "URL_UPDATED", h.Get("X-RD-Event"))
	require.Equal(t, "ReviewData-Webhooks/"+buildinfo.Version, h.Get("User-Agent"))
	require.Len(t, strings.Fields(h.Get("webhook-signature")), 2)
	for _, s := range []signing.Secret{newer, older} {
		require.NoError(t, signing.Verify([]string{s.Encode()}, h, body, 0))
	}
	require.NoError(t, signing.VerifyRDSignature([]string{newer.Encode()}, h, body))
	require.ErrorIs(t, signing.VerifyRDSignature([]string{older.Encode()}, h, body), signing.ErrNoMatchingSignature,
		"X-RD-Signature uses the newest secret only")

	bare := webhook.Headers(delivery, attempt, webhook.EventURLUpdated, now, body)
	require.Empty(t, bare.Get("webhook-signature"))
	require.Empty(t, bare.Values(http.CanonicalHeaderKey(signing.HeaderRDSignature)))
}

func TestRenderBodyIsStable(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	created := time.Date(2026, 12, 3, 10, 15, 30, 123456789, time.FixedZone("CET", 3600))
	a, err := webhook.RenderBody(id, webhook.EventDataResult, created, json.RawMessage(`{"b":1,"a":2}`))
	require.NoError(t, err)
	b, err := webhook.RenderBody(id, webhook.EventDataResult, created.UTC(), json.RawMessage(`{"b":1,"a":2}`))
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.JSONEq(t, `{"id":"`+id.String()+`","type":"DATA_RESULT","created":"2026-12-03T09:15:30.123456Z","data":{"b":1,"a":2}}`, string(a))
}

func TestEventTypes(t *testing.T) {
	t.Parallel()
	require.Len(t, webhook.SubscribableEvents, 6)
	for _, typ := range webhook.SubscribableEvents {
		require.True(t, typ.Subscribable())
		require.Contains(t, webhook.Payloads, typ)
		require.Contains(t, webhook.Descriptions, typ)
	}
	require.False(t, webhook.EventWebhookTest.Subscribable())
	require.True(t, webhook.EventWebhookTest.Valid())
	require.False(t, webhook.EventType("NOPE").Valid())
	require.Equal(t, "webhook-"+uuid.Nil.String(), webhook.DeliveryWorkflowID(uuid.Nil))
}
