// Package signing signs outbound webhooks the way the Standard Webhooks spec
// defines (https://www.standardwebhooks.com: HMAC-SHA256 over
// "id.timestamp.body", secrets serialized as "whsec_<base64>") and adds RD's
// legacy X-RD-Signature header (hex HMAC-SHA256 of the body alone). Verify and
// VerifyRDSignature are the receiving side, for integrators' reference and
// RD's own tests.
package signing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names. The spec writes the Standard Webhooks headers in lower case;
// http.Header canonicalizes them ("Webhook-Id"), which HTTP treats as equal.
const (
	// HeaderID carries the message ID, stable across retries and replays:
	// the receiver's idempotency key.
	HeaderID = "webhook-id"
	// HeaderTimestamp carries the signing time in Unix seconds.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature carries the space-separated "v1,<base64>" signatures.
	HeaderSignature = "webhook-signature"
	// HeaderRDSignature carries the legacy "sha256=<hex>" body signature.
	HeaderRDSignature = "X-RD-Signature"
)

// SecretPrefix marks a serialized signing secret, as the spec recommends.
const SecretPrefix = "whsec_"

// Secret sizes for HMAC-SHA256 signing secrets.
const (
	// MinSecretBytes is the shortest secret the spec allows (192 bits).
	MinSecretBytes = 24
	// MaxSecretBytes is the longest secret the spec allows (512 bits).
	MaxSecretBytes = 64
	// GeneratedSecretLen is the size of secrets from GenerateSecret (256 bits).
	GeneratedSecretLen = 32
)

// DefaultTolerance is the replay window Verify applies when given a
// non-positive tolerance: the spec's reference libraries use five minutes.
const DefaultTolerance = 5 * time.Minute

// Errors returned (wrapped) by Verify, VerifyAt, VerifyRDSignature and
// ParseSecret; test for them with errors.Is.
var (
	// ErrInvalidSecret is returned when a secret is not "whsec_<base64>" of
	// MinSecretBytes to MaxSecretBytes bytes, or no secret is given.
	ErrInvalidSecret = errors.New("signing: invalid secret")
	// ErrMissingHeader is returned when a required header is absent or empty.
	ErrMissingHeader = errors.New("signing: missing header")
	// ErrInvalidTimestamp is returned when webhook-timestamp is not a Unix
	// time in whole seconds.
	ErrInvalidTimestamp = errors.New("signing: invalid webhook-timestamp")
	// ErrTimestampTooOld is returned when the message was signed longer ago
	// than the tolerance: possibly a replay.
	ErrTimestampTooOld = errors.New("signing: webhook-timestamp too old")
	// ErrTimestampTooNew is returned when the message is dated further in the
	// future than the tolerance.
	ErrTimestampTooNew = errors.New("signing: webhook-timestamp too new")
	// ErrNoMatchingSignature is returned when no signature in the header
	// matches any of the secrets (or the header value is malformed).
	ErrNoMatchingSignature = errors.New("signing: no matching signature")
)

// Secret is a raw HMAC signing secret. Its String method redacts it, so a
// Secret that reaches a log line or error message does not leak; use Encode
// for the serialized form shown to an integrator.
type Secret []byte

// GenerateSecret returns a new random secret of GeneratedSecretLen bytes.
func GenerateSecret() Secret {
	s := make(Secret, GeneratedSecretLen)
	// crypto/rand.Read never returns an error; it aborts if the OS cannot
	// supply randomness.
	_, _ = rand.Read(s)
	return s
}

// ParseSecret decodes a secret serialized as "whsec_<standard base64>". The
// prefix is optional, as in the spec's reference libraries. It returns an
// error wrapping ErrInvalidSecret if the text is not base64 or does not
// decode to MinSecretBytes..MaxSecretBytes bytes; the error never contains
// the secret.
func ParseSecret(s string) (Secret, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: not %s followed by standard base64", ErrInvalidSecret, SecretPrefix)
	}
	if len(raw) < MinSecretBytes || len(raw) > MaxSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes, want %d to %d (generate a new one)",
			ErrInvalidSecret, len(raw), MinSecretBytes, MaxSecretBytes)
	}
	return Secret(raw), nil
}

// Encode returns the secret in its serialized "whsec_<base64>" form.
func (s Secret) Encode() string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(s)
}

// String returns a redacted placeholder, never the secret.
func (s Secret) String() string {
	return SecretPrefix + "[redacted]"
}

// GoString returns the same placeholder as String, for the %#v verb.
func (s Secret) GoString() string {
	return s.String()
}

// Sign returns the webhook-signature header value for a message: one
// "v1,<base64 HMAC-SHA256 of msgID.timestamp.body>" per secret, in the order
// given, separated by single spaces. Pass the current secret and, during a
// rotation, the previous ones. msgID must not contain '.' (the spec's
// delimiter); RD generates its IDs. With no secrets Sign returns "".
func Sign(msgID string, ts time.Time, body []byte, secrets ...[]byte) string {
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		mac := sign(secret, msgID, ts.Unix(), body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac))
	}
	return strings.Join(sigs, " ")
}

// sign computes the raw HMAC-SHA256 of "msgID.unix.body".
func sign(secret []byte, msgID string, unix int64, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, unix, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// Verify checks a received Standard Webhooks message against the receiver's
// secrets (serialized, "whsec_…"), at the current time; see VerifyAt.
func Verify(secrets []string, headers http.Header, body []byte, tolerance time.Duration) error {
	return VerifyAt(secrets, headers, body, tolerance, time.Now())
}

// VerifyAt checks a received Standard Webhooks message as of now: the
// webhook-id, webhook-timestamp and webhook-signature headers must be present,
// the timestamp within tolerance of now in either direction (DefaultTolerance
// if tolerance <= 0), and at least one "v1" signature in the header must match
// one of the secrets. Signatures of other schemes (e.g. "v1a") are skipped.
//
// It returns nil on success, otherwise an error wrapping ErrInvalidSecret,
// ErrMissingHeader, ErrInvalidTimestamp, ErrTimestampTooOld,
// ErrTimestampTooNew or ErrNoMatchingSignature. Comparisons are constant-time.
func VerifyAt(secrets []string, headers http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	keys, err := parseSecrets(secrets)
	if err != nil {
		return err
	}
	msgID, tsText, sigHeader, err := requiredHeaders(headers)
	if err != nil {
		return err
	}
	unix, err := checkTimestamp(tsText, tolerance, now)
	if err != nil {
		return err
	}
	sigs := v1Signatures(sigHeader)
	for _, key := range keys {
		want := sign(key, msgID, unix, body)
		for _, got := range sigs {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrNoMatchingSignature
}

// v1Signatures decodes the "v1,<base64>" entries of a webhook-signature
// header, skipping other schemes and malformed entries: a receiver must still
// accept the message if any one entry matches.
func v1Signatures(header string) [][]byte {
	var sigs [][]byte
	for _, entry := range strings.Fields(header) {
		scheme, value, ok := strings.Cut(entry, ",")
		if !ok || scheme != "v1" {
			continue
		}
		if sig, err := base64.StdEncoding.DecodeString(value); err == nil {
			sigs = append(sigs, sig)
		}
	}
	return sigs
}

// parseSecrets parses every secret, naming the failing one by position only.
func parseSecrets(secrets []string) ([]Secret, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secrets given", ErrInvalidSecret)
	}
	keys := make([]Secret, 0, len(secrets))
	for i, s := range secrets {
		key, err := ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// requiredHeaders returns the three Standard Webhooks headers or an error
// wrapping ErrMissingHeader naming the first absent one.
func requiredHeaders(h http.Header) (id, ts, sig string, err error) {
	id, ts, sig = h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	for _, hv := range [...]struct{ name, value string }{{HeaderID, id}, {HeaderTimestamp, ts}, {HeaderSignature, sig}} {
		if hv.value == "" {
			return "", "", "", fmt.Errorf("%w: %s", ErrMissingHeader, hv.name)
		}
	}
	return id, ts, sig, nil
}

// checkTimestamp parses the timestamp header and applies the replay window.
// The signature is computed over the header text as received, so the parsed
// value is re-formatted only after it has been shown to round-trip.
func checkTimestamp(text string, tolerance time.Duration, now time.Time) (int64, error) {
	unix, err := strconv.ParseInt(text, 10, 64)
	if err != nil || strconv.FormatInt(unix, 10) != text {
		return 0, fmt.Errorf("%w: %q", ErrInvalidTimestamp, text)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sent := time.Unix(unix, 0)
	switch {
	case now.Sub(sent) > tolerance:
		return 0, fmt.Errorf("%w: sent %s, now %s, tolerance %s", ErrTimestampTooOld,
			sent.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), tolerance)
	case sent.Sub(now) > tolerance:
		return 0, fmt.Errorf("%w: sent %s, now %s, tolerance %s", ErrTimestampTooNew,
			sent.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), tolerance)
	}
	return unix, nil
}

// RDSignature returns the X-RD-Signature header value for body:
// "sha256=<hex HMAC-SHA256 of body>". RD signs it with the newest secret only.
// Unlike webhook-signature it covers neither the message ID nor the time, so
// it does not protect against replays; it exists for integrators built
// against the original platform.
func RDSignature(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyRDSignature checks the X-RD-Signature header of a received webhook
// against the receiver's secrets (serialized, "whsec_…"); any secret may
// match, so a receiver can hold old and new secrets during a rotation.
//
// It returns nil on success, otherwise an error wrapping ErrInvalidSecret,
// ErrMissingHeader or ErrNoMatchingSignature (also for a malformed value).
// Comparisons are constant-time.
func VerifyRDSignature(secrets []string, headers http.Header, body []byte) error {
	keys, err := parseSecrets(secrets)
	if err != nil {
		return err
	}
	value := headers.Get(HeaderRDSignature)
	if value == "" {
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderRDSignature)
	}
	hexSig, ok := strings.CutPrefix(value, "sha256=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil {
		return ErrNoMatchingSignature
	}
	for _, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		if hmac.Equal(got, mac.Sum(nil)) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}
