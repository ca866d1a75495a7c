// Package webhook is the contract every part of RD that emits or delivers
// webhooks shares: the event types and their payloads, the message body, the
// headers a delivery carries, the delivery workflow's registered name, ID,
// input and retry policy, and Starter, which starts delivery workflows.
//
// It exists because the callers sit in different rooms: the EmitWebhook
// activity and the delivery workflow's activities (package activities, which
// cannot import package workflows), the services behind the operator and
// integrator API (package service), and the workflow itself. None of them
// imports another; all of them import this.
package webhook

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
)

// EventType names an event. It travels in the body's "type" field and in the
// X-RD-Event header.
type EventType string

// The events RD emits (DESIGN.md, "Webhooks"). Integrators subscribe to
// these; EventWebhookTest goes only to the endpoint being tested.
const (
	EventURLUpdated            EventType = "URL_UPDATED"
	EventDataResult            EventType = "DATA_RESULT"
	EventCredentialUpdated     EventType = "CREDENTIAL_UPDATED"
	EventCookieUpdated         EventType = "COOKIE_UPDATED"
	EventResponseSubmission    EventType = "RESPONSE_SUBMISSION"
	EventPublisherDisconnected EventType = "PUBLISHER_DISCONNECTED"
	EventWebhookTest           EventType = "WEBHOOK_TEST"
)

// SubscribableEvents lists the event types an endpoint can subscribe to, in
// documentation order.
var SubscribableEvents = []EventType{
	EventURLUpdated, EventDataResult, EventCredentialUpdated,
	EventCookieUpdated, EventResponseSubmission, EventPublisherDisconnected,
}

// Subscribable reports whether an endpoint can subscribe to t.
func (t EventType) Subscribable() bool { return slices.Contains(SubscribableEvents, t) }

// Valid reports whether t is an event RD emits: a subscribable one or
// EventWebhookTest.
func (t EventType) Valid() bool { return t.Subscribable() || t == EventWebhookTest }

// Message is the JSON body of every delivery. The same event delivered to
// several endpoints, or retried, or replayed, has byte-identical bodies.
type Message struct {
	ID      uuid.UUID       `json:"id" format:"uuid" doc:"The event's ID (UUIDv7). The same event sent to several endpoints has one ID; the webhook-id header identifies one delivery."`
	Type    EventType       `json:"type" doc:"The event type, also in the X-RD-Event header."`
	Created time.Time       `json:"created" doc:"When RD recorded the event (RFC 3339, UTC)."`
	Data    json.RawMessage `json:"data" doc:"The event's payload; its shape depends on type."`
}

// RenderBody returns the exact bytes a delivery of the event sends. It is a
// pure function of its arguments, so every attempt of every delivery of the
// event, and every replay, sends the same bytes.
func RenderBody(id uuid.UUID, typ EventType, created time.Time, data json.RawMessage) ([]byte, error) {
	return json.Marshal(Message{ID: id, Type: typ, Created: created.UTC().Truncate(time.Microsecond), Data: data})
}

// WebhookID is the webhook-id header of a delivery: stable across its
// retries and replays, and the integrator's deduplication key.
func WebhookID(deliveryID uuid.UUID) string { return "msg_" + deliveryID.String() }
