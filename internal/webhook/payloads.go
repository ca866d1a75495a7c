package webhook

import (
	"time"

	"github.com/google/uuid"
)

// The payloads below are the "data" of each event type. Emitters build one
// and pass it, marshalled, as EmitWebhook's Data; the API publishes their
// schemas in the OpenAPI document's "webhooks" section. Fields are only ever
// added: integrators parse these.

// Payloads maps each event type to an example value of its payload type; the
// API reads the schemas from it.
var Payloads = map[EventType]any{
	EventURLUpdated:            URLUpdated{},
	EventDataResult:            DataResult{},
	EventCredentialUpdated:     CredentialUpdated{},
	EventCookieUpdated:         CookieUpdated{},
	EventResponseSubmission:    ResponseSubmission{},
	EventPublisherDisconnected: PublisherDisconnected{},
	EventWebhookTest:           WebhookTest{},
}

// Descriptions says when each event fires, for the OpenAPI document and docs.
var Descriptions = map[EventType]string{
	EventURLUpdated:            "A publisher URL for a business was resolved, automatically or by a QA operator.",
	EventDataResult:            "A scrape finished: its review batches are ready to download, or it failed.",
	EventCredentialUpdated:     "A QA operator added or changed the publisher credentials of an account.",
	EventCookieUpdated:         "A QA operator captured fresh session cookies for an account.",
	EventResponseSubmission:    "A reply posting attempt finished, successfully or not.",
	EventPublisherDisconnected: "A publisher account got disconnected while posting; it needs attention.",
	EventWebhookTest:           "Sent on request by POST /webhooks/endpoints/{id}/test, to that endpoint only.",
}

// Job is what identifies the integrator's request in events about a job.
type Job struct {
	TaskID             uuid.UUID `json:"task_id" format:"uuid" doc:"RD's ID of the job, returned when it was submitted."`
	ForeignKey         string    `json:"foreign_key,omitempty" doc:"The integrator's own reference, echoed back."`
	ExternalLocationID string    `json:"external_location_id,omitempty" doc:"The integrator's ID of the business."`
	PublisherKey       string    `json:"publisher_key" example:"yelp" doc:"The publisher the job ran against."`
}

// URLUpdated is the payload of URL_UPDATED.
type URLUpdated struct {
	Job
	URL       string `json:"url" format:"uri" doc:"The business's page on the publisher."`
	URLStatus string `json:"url_status" enum:"active,invalid" doc:"Whether the URL is usable."`
}

// ReviewBatch is one file of scraped reviews, as JSON lines.
type ReviewBatch struct {
	URL         string `json:"url" format:"uri" doc:"Where to download the batch (JSON lines, one review per line)."`
	ReviewCount int    `json:"review_count" doc:"Reviews in the batch."`
}

// DataResult is the payload of DATA_RESULT.
type DataResult struct {
	Job
	Status        string        `json:"status" enum:"COMPLETED,FAILED,CANCELLED" doc:"How the scrape ended."`
	FailureReason string        `json:"failure_reason,omitempty" doc:"Why it failed (a FailureReason value); absent unless FAILED."`
	ReviewCount   int           `json:"review_count" doc:"Reviews found over all batches."`
	Batches       []ReviewBatch `json:"batches" doc:"The review batches, in order; empty when there are none."`
}

// AccountEvent identifies a publisher account in account-level events.
type AccountEvent struct {
	ExternalLocationID string    `json:"external_location_id" doc:"The integrator's ID of the business."`
	PublisherKey       string    `json:"publisher_key" example:"booking" doc:"The publisher."`
	UpdatedAt          time.Time `json:"updated_at" doc:"When the change happened."`
}

// CredentialUpdated is the payload of CREDENTIAL_UPDATED.
type CredentialUpdated struct {
	AccountEvent
}

// CookieUpdated is the payload of COOKIE_UPDATED.
type CookieUpdated struct {
	AccountEvent
}

// ResponseSubmission is the payload of RESPONSE_SUBMISSION.
type ResponseSubmission struct {
	Job
	InternalReviewID string `json:"internal_review_id" doc:"The publisher's ID of the review replied to."`
	Status           string `json:"status" enum:"POSTED,FAILED" doc:"Whether the reply was posted."`
	FailureReason    string `json:"failure_reason,omitempty" doc:"Why posting failed; absent unless FAILED."`
}

// PublisherDisconnected is the payload of PUBLISHER_DISCONNECTED.
type PublisherDisconnected struct {
	AccountEvent
	Reason string `json:"reason" doc:"What the publisher said, in words."`
}

// WebhookTest is the payload of WEBHOOK_TEST.
type WebhookTest struct {
	EndpointID uuid.UUID `json:"endpoint_id" format:"uuid" doc:"The endpoint being tested."`
	Message    string    `json:"message" doc:"A fixed greeting; nothing to act on."`
}
