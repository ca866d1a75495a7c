package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.temporal.io/sdk/temporal"

	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/store"
)

// Per-endpoint metering.
//
// At most MaxInFlight deliveries of an endpoint hold a send slot at once;
// the rest wait in order. The semaphore lives in PostgreSQL, on the
// delivery rows themselves: a delivery holds a slot while its status is
// delivering and its lease (lease_expires_at) has not run out, and waits in
// the endpoint's queue while queued_at is set. ClaimWebhookSlot takes a slot
// under a lock on the endpoint row, so claims on one endpoint serialize and
// claims on different endpoints never touch each other. Waiting happens in
// the workflow (a durable timer, cut short by the wake signal sent when a
// slot frees), never in an activity, so deliveries stuck behind a hanging
// endpoint hold no worker slot and cannot delay other endpoints. The lease
// bounds how long a lost worker can keep a slot.

// ClaimOutcome is what ClaimWebhookSlot decided.
type ClaimOutcome string

// Claim outcomes.
const (
	// ClaimAcquired: the delivery holds a send slot; send now.
	ClaimAcquired ClaimOutcome = "acquired"
	// ClaimWait: the endpoint's slots are taken, or earlier deliveries
	// wait ahead; ask again when woken or after the poll interval.
	ClaimWait ClaimOutcome = "wait"
	// ClaimHeld: the endpoint is disabled; the delivery stays pending, and
	// its workflow may end: re-enabling the endpoint resumes it.
	ClaimHeld ClaimOutcome = "held"
	// ClaimStop: nothing left to do for this run: the delivery finished,
	// was cancelled, was replayed (a newer generation), or its endpoint was
	// deleted (the delivery is then cancelled).
	ClaimStop ClaimOutcome = "stop"
)

// ClaimWebhookSlotInput asks for a send slot for a delivery run.
type ClaimWebhookSlotInput struct {
	DeliveryID uuid.UUID `json:"delivery_id"`
	Generation int       `json:"generation"`
	// StaleAfter is how long a waiting delivery may go without asking
	// before it no longer blocks those behind it: a few poll intervals.
	StaleAfter time.Duration `json:"stale_after"`
}

// ClaimWebhookSlotResult is the claim's outcome.
type ClaimWebhookSlotResult struct {
	Outcome ClaimOutcome `json:"outcome"`
	// AttemptsMade counts the attempts of this generation so far.
	AttemptsMade int `json:"attempts_made"`
	// Ahead counts the deliveries holding slots or waiting ahead (when
	// Outcome is ClaimWait), for the workflow's status panel.
	Ahead int `json:"ahead"`
}

// ClaimWebhookSlot asks for one of the endpoint's send slots for the
// delivery. It is idempotent: a delivery that holds a slot gets it again,
// with its lease renewed. See ClaimOutcome for what each answer means.
//
// It returns a non-retryable error of type ErrTypeWebhookDeliveryNotFound
// when the delivery does not exist.
func (a *WebhookActivities) ClaimWebhookSlot(ctx context.Context, in ClaimWebhookSlotInput) (ClaimWebhookSlotResult, error) {
	cfg := a.Config.withDefaults()
	var res ClaimWebhookSlotResult
	err := a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res = ClaimWebhookSlotResult{}
		now := a.now()
		ep, d, err := lockDelivery(ctx, tx, in.DeliveryID)
		if err != nil {
			return err
		}
		if d.Generation != in.Generation || d.Status.Terminal() {
			res.Outcome = ClaimStop
			return nil
		}
		if res.AttemptsMade, err = store.CountWebhookAttempts(ctx, tx, d.ID, d.Generation); err != nil {
			return err
		}
		switch {
		case ep.DeletedAt != nil:
			res.Outcome = ClaimStop
			d.Status, d.CompletedAt = store.WebhookDeliveryCancelled, &now
			d.LastError = "endpoint deleted"
			clearSlot(d)
			return store.UpdateWebhookDelivery(ctx, tx, d, now, deliverySlotColumns("status", "completed_at", "last_error")...)
		case ep.Status != store.WebhookEndpointActive:
			res.Outcome = ClaimHeld
			d.Status = store.WebhookDeliveryPending
			clearSlot(d)
			return store.UpdateWebhookDelivery(ctx, tx, d, now, deliverySlotColumns("status")...)
		case d.Status == store.WebhookDeliveryDelivering && d.LeaseExpiresAt != nil && d.LeaseExpiresAt.After(now):
			// A retry of a claim that succeeded: keep the slot.
			res.Outcome = ClaimAcquired
			lease := now.Add(cfg.ClaimLease)
			d.LeaseExpiresAt = &lease
			return store.UpdateWebhookDelivery(ctx, tx, d, now, "lease_expires_at")
		case d.Status == store.WebhookDeliveryDelivering:
			// Its lease ran out, and with it the slot, which another
			// delivery may hold now: claim afresh, as a waiter.
			d.Status, d.LeaseExpiresAt = store.WebhookDeliveryPending, nil
		}
		if d.QueuedAt == nil {
			d.QueuedAt = &now
		}
		d.QueueSeenAt = &now
		leases, err := store.CountWebhookLeases(ctx, tx, ep.ID, now, d.ID)
		if err != nil {
			return err
		}
		ahead, err := store.CountWebhookWaitersAhead(ctx, tx, d, now.Add(-in.StaleAfter))
		if err != nil {
			return err
		}
		if leases+ahead >= ep.MaxInFlight {
			res.Outcome, res.Ahead = ClaimWait, leases+ahead
			return store.UpdateWebhookDelivery(ctx, tx, d, now, "status", "lease_expires_at", "queued_at", "queue_seen_at")
		}
		res.Outcome = ClaimAcquired
		lease := now.Add(cfg.ClaimLease)
		d.Status, d.LeaseExpiresAt, d.NextAttemptAt = store.WebhookDeliveryDelivering, &lease, nil
		d.QueuedAt, d.QueueSeenAt = nil, nil
		return store.UpdateWebhookDelivery(ctx, tx, d, now, deliverySlotColumns("status", "next_attempt_at")...)
	})
	if errors.Is(err, store.ErrNotFound) {
		return res, temporal.NewNonRetryableApplicationError("webhook delivery not found", ErrTypeWebhookDeliveryNotFound, err)
	}
	if err != nil {
		return res, fmt.Errorf("claim webhook slot for %s: %w", in.DeliveryID, err)
	}
	return res, nil
}

// SendOutcome is whether SendWebhook sent anything.
type SendOutcome string

// Send outcomes.
const (
	// SendSent: the attempt was made and recorded; see the status code.
	SendSent SendOutcome = "sent"
	// SendLapsed: the slot lapsed before the request went out (its lease
	// ran out and the endpoint's slots are taken or other deliveries wait
	// for one, or the endpoint was disabled meanwhile). Nothing was sent
	// or counted: claim again.
	SendLapsed SendOutcome = "lapsed"
	// SendStale: the run is no longer current (replayed, finished or
	// cancelled). Nothing was sent.
	SendStale SendOutcome = "stale"
)

// SendWebhookInput names the attempt to make: the Seq-th of the delivery's
// Generation-th run.
type SendWebhookInput struct {
	DeliveryID uuid.UUID `json:"delivery_id"`
	Generation int       `json:"generation"`
	Seq        int       `json:"seq"`
}

// SendWebhookResult is the attempt's outcome. It never carries the bodies.
type SendWebhookResult struct {
	Outcome SendOutcome `json:"outcome"`
	// AttemptID is the attempt's delivery_id.
	AttemptID uuid.UUID `json:"attempt_id"`
	// StatusCode is the response status; 0 when there was no response.
	StatusCode int `json:"status_code"`
	// RetryAfter is the response's Retry-After, when it had a valid one.
	RetryAfter time.Duration `json:"retry_after"`
	// Error says why there was no response.
	Error string `json:"error,omitempty"`
}

// SendWebhook makes one attempt: it records the attempt (a fresh
// delivery_id), reads the event and the endpoint's valid secrets from the
// database, signs, POSTs with the HTTP client (no redirects, private
// addresses refused at dial time), records the status, duration, up to 20
// KB of the response body or the error, releases the send slot and wakes
// the endpoint's next waiting deliveries. A 2xx marks the delivery
// succeeded; anything else leaves it pending for the workflow to settle.
//
// Run it with MaximumAttempts 1: it POSTs, and a retry would POST again.
// If it fails or times out, AbandonWebhookAttempt records the loss.
func (a *WebhookActivities) SendWebhook(ctx context.Context, in SendWebhookInput) (SendWebhookResult, error) {
	cfg := a.Config.withDefaults()
	var (
		res     = SendWebhookResult{Outcome: SendSent}
		attempt *store.WebhookAttempt
		ev      *store.WebhookEvent
		ep      *store.WebhookEndpoint
		secrets []store.WebhookSecret
	)
	err := a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := a.now()
		var d *store.WebhookDelivery
		var err error
		if ep, d, err = lockDelivery(ctx, tx, in.DeliveryID); err != nil {
			return err
		}
		if d.Generation != in.Generation || d.Status != store.WebhookDeliveryDelivering {
			res.Outcome = SendStale
			if d.Generation == in.Generation && !d.Status.Terminal() {
				res.Outcome = SendLapsed // the slot was released: claim again
			}
			return nil
		}
		lapsed := !d.LeaseExpiresAt.After(now)
		if lapsed || ep.Status != store.WebhookEndpointActive || ep.DeletedAt != nil {
			taken := 0
			if lapsed {
				// The lapsed slot is free for the taking only if no
				// other delivery holds it and none waits for it: count
				// both, as a claim does. Any waiter counts, live or
				// not: a claim, which can tell, settles the question.
				if taken, err = store.CountWebhookLeases(ctx, tx, ep.ID, now, d.ID); err != nil {
					return err
				}
				asClaim := *d
				asClaim.QueuedAt = &now
				ahead, err := store.CountWebhookWaitersAhead(ctx, tx, &asClaim, time.Time{})
				if err != nil {
					return err
				}
				taken += ahead
			}
			if taken >= ep.MaxInFlight || ep.Status != store.WebhookEndpointActive || ep.DeletedAt != nil {
				res.Outcome = SendLapsed
				d.Status = store.WebhookDeliveryPending
				clearSlot(d)
				return store.UpdateWebhookDelivery(ctx, tx, d, now, deliverySlotColumns("status")...)
			}
		}
		lease := now.Add(cfg.HTTPTimeout + webhookLeaseMargin)
		d.LeaseExpiresAt = &lease
		d.AttemptCount++
		if err := store.UpdateWebhookDelivery(ctx, tx, d, now, "lease_expires_at", "attempt_count"); err != nil {
			return err
		}
		attempt = &store.WebhookAttempt{DeliveryRootID: d.ID, Generation: d.Generation, Seq: in.Seq, ClaimedAt: now, StartedAt: &now}
		if err := store.InsertWebhookAttempt(ctx, tx, attempt); err != nil {
			return err
		}
		if ev, err = store.GetWebhookEvent(ctx, tx, d.EventID); err != nil {
			return err
		}
		secrets, err = store.ListValidWebhookSecrets(ctx, tx, ep.ID, now)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("send webhook %s: %w", in.DeliveryID, err)
	}
	if res.Outcome != SendSent {
		return res, nil
	}
	res.AttemptID = attempt.ID

	started := a.now()
	outcome := a.post(ctx, ep, ev, in.DeliveryID, attempt.ID, secrets, cfg)
	res.StatusCode, res.RetryAfter, res.Error = outcome.status, outcome.retryAfter, outcome.err
	duration := int(a.now().Sub(started).Milliseconds())

	// Record even when the worker is stopping: the request may have gone
	// out, and every attempt belongs in the log.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = a.Store.DB.RunInTx(recordCtx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := a.now()
		attempt.FinishedAt, attempt.DurationMS = &now, &duration
		if outcome.status != 0 {
			attempt.StatusCode = &outcome.status
		}
		attempt.ResponseBody, attempt.Error = outcome.body, outcome.err
		if err := store.UpdateWebhookAttempt(ctx, tx, attempt, "finished_at", "duration_ms", "status_code", "response_body", "error"); err != nil {
			return err
		}
		return a.releaseAfterAttempt(ctx, tx, ep.ID, in.DeliveryID, in.Generation, attempt, now)
	})
	if err != nil {
		return res, fmt.Errorf("send webhook %s: record attempt: %w", in.DeliveryID, err)
	}
	a.wakeWaiters(recordCtx, ep.ID)
	return res, nil
}

// releaseAfterAttempt frees the delivery's send slot after a finished
// attempt and updates the endpoint's health: a 2xx marks the delivery
// succeeded and the endpoint healthy, anything else leaves the delivery
// pending and the endpoint failing (since its first failure).
func (a *WebhookActivities) releaseAfterAttempt(ctx context.Context, tx bun.Tx, endpointID, deliveryID uuid.UUID,
	generation int, attempt *store.WebhookAttempt, now time.Time,
) error {
	// Endpoint before delivery, as everywhere.
	if _, err := store.LockWebhookEndpoint(ctx, tx, endpointID); err != nil {
		return err
	}
	d, err := store.LockWebhookDelivery(ctx, tx, deliveryID)
	if err != nil {
		return err
	}
	succeeded := attempt.StatusCode != nil && *attempt.StatusCode >= 200 && *attempt.StatusCode <= 299
	if succeeded {
		if err := store.SetWebhookEndpointHealthy(ctx, tx, endpointID); err != nil {
			return err
		}
	} else if _, err := store.SetWebhookEndpointFailing(ctx, tx, endpointID, now); err != nil {
		return err
	}
	if d.Generation != generation || d.Status != store.WebhookDeliveryDelivering {
		return nil // a newer run owns the row now; the attempt is logged all the same
	}
	d.LastStatusCode, d.LastError = attempt.StatusCode, attempt.Error
	d.Status = store.WebhookDeliveryPending
	cols := []string{"status", "last_status_code", "last_error"}
	if succeeded {
		d.Status, d.CompletedAt = store.WebhookDeliverySucceeded, &now
		cols = append(cols, "completed_at")
	}
	clearSlot(d)
	return store.UpdateWebhookDelivery(ctx, tx, d, now, deliverySlotColumns(cols...)...)
}

// httpOutcome is what one POST produced.
type httpOutcome struct {
	status     int
	retryAfter time.Duration
	body       string
	err        string
}

// post signs and sends one attempt. It never returns an error: a failure
// to send is the attempt's outcome.
func (a *WebhookActivities) post(ctx context.Context, ep *store.WebhookEndpoint, ev *store.WebhookEvent,
	deliveryID, attemptID uuid.UUID, stored []store.WebhookSecret, cfg WebhookConfig,
) httpOutcome {
	keys := make([][]byte, 0, len(stored))
	for _, s := range stored {
		raw, err := a.Secrets.Decrypt(s.Ciphertext)
		if err != nil {
			logger(ctx).Warn("webhook secret cannot be decrypted; is its key missing from SECRETS_KEYS?",
				"endpoint_id", ep.ID, "secret_id", s.ID)
			continue
		}
		keys = append(keys, raw)
	}
	if len(keys) == 0 {
		return httpOutcome{err: "no usable signing secret: the endpoint's secrets cannot be decrypted with SECRETS_KEYS"}
	}
	body, err := webhook.RenderBody(ev.ID, webhook.EventType(ev.Type), ev.CreatedAt, ev.Payload)
	if err != nil {
		return httpOutcome{err: "render body: " + err.Error()}
	}
	reqCtx, cancel := context.WithTimeout(ctx, cfg.HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return httpOutcome{err: "build request: " + err.Error()}
	}
	req.Header = webhook.Headers(deliveryID, attemptID, webhook.EventType(ev.Type), a.now(), body, keys...)
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return httpOutcome{err: err.Error()}
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	out := httpOutcome{status: resp.StatusCode, body: responseText(raw, maxResponseBody)}
	if readErr != nil {
		out.err = "reading response body: " + readErr.Error()
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		out.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), a.now())
	}
	return out
}

// responseText makes a stored response body of raw: valid UTF-8 without NUL
// bytes (PostgreSQL text refuses them), cut at a rune boundary to at most
// limit bytes.
func responseText(raw []byte, limit int) string {
	s := strings.ReplaceAll(strings.ToValidUTF8(string(raw), "\uFFFD"), "\x00", "")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// as a wait from now; 0 when absent or unparsable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, int64(365*24*3600))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now).Round(time.Second)
	}
	return 0
}

// AbandonWebhookAttemptInput names the attempt whose SendWebhook failed.
type AbandonWebhookAttemptInput struct {
	DeliveryID uuid.UUID `json:"delivery_id"`
	Generation int       `json:"generation"`
	Seq        int       `json:"seq"`
	// Reason is why the send failed, as the workflow saw it (an activity
	// timeout after a lost worker, say).
	Reason string `json:"reason"`
}

// AbandonWebhookAttemptResult says whether the attempt counts.
type AbandonWebhookAttemptResult struct {
	// Counted is true when the attempt had started (its request may have
	// gone out): it counts as a failed attempt. False means the request
	// never went out, and the same attempt should be made again.
	Counted bool `json:"counted"`
	// AttemptID is the abandoned attempt's delivery_id, when Counted.
	AttemptID uuid.UUID `json:"attempt_id"`
}

// AbandonWebhookAttempt records that SendWebhook failed without reporting
// an outcome: an attempt that started and has none yet gets Reason as its
// error, and the delivery's send slot is released. It is idempotent.
func (a *WebhookActivities) AbandonWebhookAttempt(ctx context.Context, in AbandonWebhookAttemptInput) (AbandonWebhookAttemptResult, error) {
	var (
		res        AbandonWebhookAttemptResult
		endpointID uuid.UUID
	)
	err := a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res = AbandonWebhookAttemptResult{}
		now := a.now()
		ep, d, err := lockDelivery(ctx, tx, in.DeliveryID)
		if err != nil {
			return err
		}
		endpointID = ep.ID
		attempt, err := store.FindWebhookAttempt(ctx, tx, in.DeliveryID, in.Generation, in.Seq)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// The request never went out; just free the slot.
			if d.Generation == in.Generation && d.Status == store.WebhookDeliveryDelivering {
				d.Status = store.WebhookDeliveryPending
				clearSlot(d)
				return store.UpdateWebhookDelivery(ctx, tx, d, now, deliverySlotColumns("status")...)
			}
			return nil
		case err != nil:
			return err
		}
		res.Counted, res.AttemptID = true, attempt.ID
		if attempt.FinishedAt != nil {
			return nil // SendWebhook recorded it before its result was lost
		}
		attempt.FinishedAt = &now
		attempt.Error = "no outcome recorded: " + in.Reason
		if err := store.UpdateWebhookAttempt(ctx, tx, attempt, "finished_at", "error"); err != nil {
			return err
		}
		if _, err := store.SetWebhookEndpointFailing(ctx, tx, ep.ID, now); err != nil {
			return err
		}
		if d.Generation != in.Generation || d.Status != store.WebhookDeliveryDelivering {
			return nil
		}
		d.Status, d.LastStatusCode, d.LastError = store.WebhookDeliveryPending, nil, attempt.Error
		clearSlot(d)
		return store.UpdateWebhookDelivery(ctx, tx, d, now, deliverySlotColumns("status", "last_status_code", "last_error")...)
	})
	if errors.Is(err, store.ErrNotFound) {
		return res, temporal.NewNonRetryableApplicationError("webhook delivery not found", ErrTypeWebhookDeliveryNotFound, err)
	}
	if err != nil {
		return res, fmt.Errorf("abandon webhook attempt %s/%d/%d: %w", in.DeliveryID, in.Generation, in.Seq, err)
	}
	a.wakeWaiters(ctx, endpointID)
	return res, nil
}

// SettleOutcome is how a failed attempt leaves the delivery.
type SettleOutcome string

// Settle outcomes.
const (
	// SettleRetry: another attempt is due at NextAttemptAt.
	SettleRetry SettleOutcome = "retry"
	// SettleDeadLetter: that was the last attempt.
	SettleDeadLetter SettleOutcome = "dead_letter"
	// SettleGone: the endpoint answered 410 Gone: disable it and cancel
	// its unfinished deliveries, this one included.
	SettleGone SettleOutcome = "gone"
	// SettleCancelled: the workflow was cancelled; cancel the delivery
	// unless it already finished.
	SettleCancelled SettleOutcome = "cancelled"
)

// SettleWebhookDeliveryInput moves a delivery run on after a failed attempt
// (or a cancellation).
type SettleWebhookDeliveryInput struct {
	DeliveryID    uuid.UUID     `json:"delivery_id"`
	Generation    int           `json:"generation"`
	Outcome       SettleOutcome `json:"outcome"`
	NextAttemptAt time.Time     `json:"next_attempt_at"`
}

// SettleWebhookDeliveryResult reports side effects the workflow acts on.
type SettleWebhookDeliveryResult struct {
	// EndpointDisabled is true when the endpoint is disabled now (it
	// answered 410, or it has failed every attempt for 5 days): the run
	// can stop waiting; re-enabling the endpoint resumes the delivery.
	EndpointDisabled bool `json:"endpoint_disabled"`
}

// SettleWebhookDelivery records what a delivery run's failed attempt (or
// its cancellation) means for the delivery:
//   - retry: NextAttemptAt is recorded for operators;
//   - dead_letter: the delivery is dead-lettered, replayable by operators;
//   - gone: the endpoint is disabled (reason gone) and its unfinished
//     deliveries, this one included, are cancelled, their workflows too;
//   - cancelled: the delivery is cancelled unless it already finished.
//
// After retry and dead_letter, an endpoint that has failed every attempt
// for FailingDisableAfter (5 days) is disabled (reason failing). It is
// idempotent, and does nothing for a stale generation.
func (a *WebhookActivities) SettleWebhookDelivery(ctx context.Context, in SettleWebhookDeliveryInput) (SettleWebhookDeliveryResult, error) {
	cfg := a.Config.withDefaults()
	var (
		res       SettleWebhookDeliveryResult
		cancelled []uuid.UUID
	)
	err := a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, cancelled = SettleWebhookDeliveryResult{}, nil
		now := a.now()
		ep, d, err := lockDelivery(ctx, tx, in.DeliveryID)
		if err != nil {
			return err
		}
		current := d.Generation == in.Generation && !d.Status.Terminal()
		switch in.Outcome {
		case SettleGone:
			if _, err := store.DisableWebhookEndpoint(ctx, tx, ep.ID, store.WebhookDisabledGone, now); err != nil {
				return err
			}
			res.EndpointDisabled = true
			cancelled, err = store.CancelWebhookDeliveries(ctx, tx, ep.ID, now)
			return err
		case SettleCancelled:
			if !current {
				return nil
			}
			d.Status, d.CompletedAt, d.NextAttemptAt = store.WebhookDeliveryCancelled, &now, nil
			clearSlot(d)
			return store.UpdateWebhookDelivery(ctx, tx, d, now, deliverySlotColumns("status", "completed_at", "next_attempt_at")...)
		case SettleRetry, SettleDeadLetter:
		default:
			return fmt.Errorf("unknown settle outcome %q", in.Outcome)
		}
		if current {
			if in.Outcome == SettleRetry {
				next := in.NextAttemptAt
				d.NextAttemptAt = &next
				if err := store.UpdateWebhookDelivery(ctx, tx, d, now, "next_attempt_at"); err != nil {
					return err
				}
			} else {
				d.Status, d.CompletedAt, d.NextAttemptAt = store.WebhookDeliveryDeadLettered, &now, nil
				clearSlot(d)
				if err := store.UpdateWebhookDelivery(ctx, tx, d, now, deliverySlotColumns("status", "completed_at", "next_attempt_at")...); err != nil {
					return err
				}
			}
		}
		if ep.Status == store.WebhookEndpointActive && ep.FailingSince != nil && now.Sub(*ep.FailingSince) >= cfg.FailingDisableAfter {
			if _, err := store.DisableWebhookEndpoint(ctx, tx, ep.ID, store.WebhookDisabledFailing, now); err != nil {
				return err
			}
		}
		disabled, err := store.GetWebhookEndpoint(ctx, tx, ep.ID)
		if err != nil {
			return err
		}
		res.EndpointDisabled = disabled.Status != store.WebhookEndpointActive
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return res, temporal.NewNonRetryableApplicationError("webhook delivery not found", ErrTypeWebhookDeliveryNotFound, err)
	}
	if err != nil {
		return res, fmt.Errorf("settle webhook delivery %s (%s): %w", in.DeliveryID, in.Outcome, err)
	}
	for _, id := range cancelled {
		if id == in.DeliveryID {
			continue // this run ends by itself
		}
		if err := a.Starter.Cancel(ctx, id); err != nil {
			// The row is cancelled: the workflow stops at its next claim
			// even if it never hears of this.
			logger(ctx).Warn("cancel webhook delivery workflow", "delivery_id", id, "error", err)
		}
	}
	return res, nil
}

// wakeWaiters signals the deliveries at the head of the endpoint's queue,
// as many as there are free slots, so they claim now rather than at their
// next poll. Best effort: a lost wake-up costs one poll interval.
func (a *WebhookActivities) wakeWaiters(ctx context.Context, endpointID uuid.UUID) {
	now := a.now()
	ep, err := store.GetWebhookEndpoint(ctx, a.Store.DB, endpointID)
	if err != nil || ep.Status != store.WebhookEndpointActive {
		return
	}
	leases, err := store.CountWebhookLeases(ctx, a.Store.DB, endpointID, now, uuid.Nil)
	if err != nil || leases >= ep.MaxInFlight {
		return
	}
	// Waiters that stopped asking long ago are woken too: it is cheap, and
	// it revives one whose wake-up was lost.
	ids, err := store.ListWebhookWaiters(ctx, a.Store.DB, endpointID, time.Time{}, ep.MaxInFlight-leases)
	if err != nil {
		return
	}
	for _, id := range ids {
		if err := a.Starter.Wake(ctx, id); err != nil {
			logger(ctx).Warn("wake webhook delivery", "delivery_id", id, "error", err)
		}
	}
}

// lockDelivery locks a delivery's endpoint, then the delivery: the lock
// order every metering transaction follows.
func lockDelivery(ctx context.Context, tx bun.Tx, deliveryID uuid.UUID) (*store.WebhookEndpoint, *store.WebhookDelivery, error) {
	d, err := store.GetWebhookDelivery(ctx, tx, deliveryID)
	if err != nil {
		return nil, nil, err
	}
	ep, err := store.LockWebhookEndpoint(ctx, tx, d.EndpointID)
	if err != nil {
		return nil, nil, err
	}
	d, err = store.LockWebhookDelivery(ctx, tx, deliveryID)
	if err != nil {
		return nil, nil, err
	}
	return ep, d, nil
}

// clearSlot drops a delivery out of the queue and its slot.
func clearSlot(d *store.WebhookDelivery) {
	d.QueuedAt, d.QueueSeenAt, d.LeaseExpiresAt = nil, nil, nil
}

// deliverySlotColumns is cols plus the columns clearSlot touches.
func deliverySlotColumns(cols ...string) []string {
	return append(cols, "queued_at", "queue_seen_at", "lease_expires_at")
}
