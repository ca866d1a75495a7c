package webhook

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/reviewdata/rd/internal/buildinfo"
	"github.com/reviewdata/rd/internal/signing"
)

// RD's own headers, next to the Standard Webhooks ones of package signing.
const (
	// HeaderDeliveryID carries the attempt's delivery_id, fresh per attempt.
	HeaderDeliveryID = "X-RD-Delivery-Id"
	// HeaderEvent carries the event type.
	HeaderEvent = "X-RD-Event"
)

// UserAgent names RD and its version on every delivery.
func UserAgent() string { return "ReviewData-Webhooks/" + buildinfo.Version }

// Headers returns the headers of one attempt:
//   - webhook-id: WebhookID(deliveryRootID), the same on every attempt;
//   - webhook-timestamp: sentAt in Unix seconds;
//   - webhook-signature: "v1,<sig>" per secret, in the order given;
//   - X-RD-Signature: "sha256=<hex>" of the body with secrets[0];
//   - X-RD-Delivery-Id, X-RD-Event, User-Agent and Content-Type.
//
// Pass the secrets newest first: the first one is the newest and alone signs
// X-RD-Signature. With no secrets the signature headers are left out.
func Headers(deliveryRootID, attemptID uuid.UUID, typ EventType, sentAt time.Time, body []byte, secrets ...[]byte) http.Header {
	h := http.Header{}
	id := WebhookID(deliveryRootID)
	// Set, not Add, canonicalizes the Standard Webhooks names; HTTP header
	// names are case-insensitive, so "Webhook-Id" is "webhook-id".
	h.Set(signing.HeaderID, id)
	h.Set(signing.HeaderTimestamp, strconv.FormatInt(sentAt.Unix(), 10))
	if len(secrets) > 0 {
		h.Set(signing.HeaderSignature, signing.Sign(id, sentAt, body, secrets...))
		h.Set(signing.HeaderRDSignature, signing.RDSignature(secrets[0], body))
	}
	h.Set(HeaderDeliveryID, attemptID.String())
	h.Set(HeaderEvent, string(typ))
	h.Set("User-Agent", UserAgent())
	h.Set("Content-Type", "application/json")
	return h
}
