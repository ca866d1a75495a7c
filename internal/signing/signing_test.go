package signing_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/signing"
)

// The Standard Webhooks reference vector, as published in the spec
// repository's library tests (standard-webhooks/standard-webhooks,
// libraries/go/webhook_test.go TestWebhookSign; the same values appear in the
// C# and Java suites).
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var specTime = time.Unix(specTimestamp, 0)

func mustSecret(t *testing.T, s string) signing.Secret {
	t.Helper()
	secret, err := signing.ParseSecret(s)
	require.NoError(t, err)
	return secret
}

// headersFor builds the three Standard Webhooks headers for a message.
func headersFor(msgID string, ts time.Time, sig string) http.Header {
	h := http.Header{}
	h.Set(signing.HeaderID, msgID)
	h.Set(signing.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(signing.HeaderSignature, sig)
	return h
}

func TestSignSpecVector(t *testing.T) {
	t.Parallel()

	got := signing.Sign(specMsgID, specTime, []byte(specBody), mustSecret(t, specSecret))
	require.Equal(t, specSignature, got)
}

func TestVerifySpecVector(t *testing.T) {
	t.Parallel()

	h := headersFor(specMsgID, specTime, specSignature)
	// With and without the whsec_ prefix, as the reference libraries accept.
	for _, secret := range []string{specSecret, strings.TrimPrefix(specSecret, signing.SecretPrefix)} {
		require.NoError(t, signing.VerifyAt([]string{secret}, h, []byte(specBody), 5*time.Minute, specTime))
	}
}

func TestSignAndVerifyDuringRotation(t *testing.T) {
	t.Parallel()

	oldSecret, newSecret := signing.GenerateSecret(), signing.GenerateSecret()
	now := time.Now()
	body := []byte(`{"event":"DATA_RESULT"}`)
	sig := signing.Sign("msg_1", now, body, newSecret, oldSecret)

	parts := strings.Split(sig, " ")
	require.Len(t, parts, 2)
	require.Equal(t, signing.Sign("msg_1", now, body, newSecret), parts[0], "order follows the arguments")

	h := headersFor("msg_1", now, sig)
	// Receivers that have not yet switched, have switched, or hold both all
	// accept the message.
	for _, secrets := range [][]signing.Secret{{oldSecret}, {newSecret}, {oldSecret, newSecret}} {
		encoded := make([]string, 0, len(secrets))
		for _, s := range secrets {
			encoded = append(encoded, s.Encode())
		}
		require.NoError(t, signing.Verify(encoded, h, body, time.Minute))
	}
}

func TestVerifySkipsOtherSchemesAndJunk(t *testing.T) {
	t.Parallel()

	sig := "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== v1,!!! nocomma " + specSignature
	h := headersFor(specMsgID, specTime, sig)
	require.NoError(t, signing.VerifyAt([]string{specSecret}, h, []byte(specBody), 0, specTime))
}

func TestVerifyFailures(t *testing.T) {
	t.Parallel()

	body := []byte(specBody)
	valid := func() http.Header { return headersFor(specMsgID, specTime, specSignature) }
	without := func(name string) http.Header {
		h := valid()
		h.Del(name)
		return h
	}
	with := func(name, value string) http.Header {
		h := valid()
		h.Set(name, value)
		return h
	}
	// The spec vector's signature under scheme "v2" must not count as v1.
	v2 := "v2," + strings.TrimPrefix(specSignature, "v1,")
	otherSecret := signing.GenerateSecret().Encode()

	for name, tc := range map[string]struct {
		secrets []string
		headers http.Header
		body    []byte
		now     time.Time
		want    error
	}{
		"tampered body":       {headers: valid(), body: []byte(`{"test": 2432232315}`), want: signing.ErrNoMatchingSignature},
		"body with space":     {headers: valid(), body: []byte(specBody + " "), want: signing.ErrNoMatchingSignature},
		"wrong secret":        {secrets: []string{otherSecret}, headers: valid(), want: signing.ErrNoMatchingSignature},
		"tampered id":         {headers: with(signing.HeaderID, "msg_other"), want: signing.ErrNoMatchingSignature},
		"tampered timestamp":  {headers: with(signing.HeaderTimestamp, strconv.Itoa(specTimestamp+1)), want: signing.ErrNoMatchingSignature},
		"wrong scheme":        {headers: with(signing.HeaderSignature, v2), want: signing.ErrNoMatchingSignature},
		"truncated signature": {headers: with(signing.HeaderSignature, specSignature[:20]), want: signing.ErrNoMatchingSignature},
		"missing id":          {headers: without(signing.HeaderID), want: signing.ErrMissingHeader},
		"missing timestamp":   {headers: without(signing.HeaderTimestamp), want: signing.ErrMissingHeader},
		"missing signature":   {headers: without(signing.HeaderSignature), want: signing.ErrMissingHeader},
		"timestamp not int":   {headers: with(signing.HeaderTimestamp, "yesterday"), want: signing.ErrInvalidTimestamp},
		"timestamp with plus": {headers: with(signing.HeaderTimestamp, "+"+strconv.Itoa(specTimestamp)), want: signing.ErrInvalidTimestamp},
		"timestamp in ms":     {headers: with(signing.HeaderTimestamp, strconv.Itoa(specTimestamp*1000)), want: signing.ErrTimestampTooNew},
		"stale":               {headers: valid(), now: specTime.Add(5*time.Minute + time.Second), want: signing.ErrTimestampTooOld},
		"from the future":     {headers: valid(), now: specTime.Add(-5*time.Minute - time.Second), want: signing.ErrTimestampTooNew},
		"no secrets":          {secrets: []string{}, headers: valid(), want: signing.ErrInvalidSecret},
		"malformed secret":    {secrets: []string{specSecret, "whsec_???"}, headers: valid(), want: signing.ErrInvalidSecret},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			if tc.secrets == nil {
				tc.secrets = []string{specSecret}
			}
			if tc.body == nil {
				tc.body = body
			}
			if tc.now.IsZero() {
				tc.now = specTime
			}
			err := signing.VerifyAt(tc.secrets, tc.headers, tc.body, 5*time.Minute, tc.now)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestVerifyToleranceBoundaries(t *testing.T) {
	t.Parallel()

	h := headersFor(specMsgID, specTime, specSignature)
	body := []byte(specBody)
	secrets := []string{specSecret}

	// Exactly at the edge is still accepted, in both directions.
	require.NoError(t, signing.VerifyAt(secrets, h, body, time.Minute, specTime.Add(time.Minute)))
	require.NoError(t, signing.VerifyAt(secrets, h, body, time.Minute, specTime.Add(-time.Minute)))
	require.ErrorIs(t, signing.VerifyAt(secrets, h, body, time.Minute, specTime.Add(time.Minute+time.Second)), signing.ErrTimestampTooOld)

	// A non-positive tolerance means DefaultTolerance, not "no check".
	require.NoError(t, signing.VerifyAt(secrets, h, body, 0, specTime.Add(signing.DefaultTolerance)))
	require.ErrorIs(t, signing.VerifyAt(secrets, h, body, 0, specTime.Add(signing.DefaultTolerance+time.Second)), signing.ErrTimestampTooOld)
	require.ErrorIs(t, signing.VerifyAt(secrets, h, body, -time.Hour, specTime.Add(time.Hour)), signing.ErrTimestampTooOld)
}

func TestVerifyUsesCurrentTime(t *testing.T) {
	t.Parallel()

	secret := signing.GenerateSecret()
	body := []byte("{}")
	fresh := time.Now()
	stale := fresh.Add(-10 * time.Minute)

	h := headersFor("msg_now", fresh, signing.Sign("msg_now", fresh, body, secret))
	require.NoError(t, signing.Verify([]string{secret.Encode()}, h, body, time.Minute))

	h = headersFor("msg_old", stale, signing.Sign("msg_old", stale, body, secret))
	require.ErrorIs(t, signing.Verify([]string{secret.Encode()}, h, body, time.Minute), signing.ErrTimestampTooOld)
}

func TestSignWithoutSecrets(t *testing.T) {
	t.Parallel()

	require.Empty(t, signing.Sign("msg_1", time.Now(), nil))
}

func TestSecretRoundTripAndRedaction(t *testing.T) {
	t.Parallel()

	secret := signing.GenerateSecret()
	require.Len(t, secret, signing.GeneratedSecretLen)
	require.NotEqual(t, secret, signing.GenerateSecret())

	encoded := secret.Encode()
	require.True(t, strings.HasPrefix(encoded, signing.SecretPrefix))
	require.Equal(t, secret, mustSecret(t, encoded))

	b64 := strings.TrimPrefix(encoded, signing.SecretPrefix)
	for _, format := range []string{"%v", "%s", "%x", "%q", "%+v", "%#v"} {
		out := fmt.Sprintf(format, secret)
		require.NotContains(t, out, b64, format)
		require.NotContains(t, out, fmt.Sprintf("%x", []byte(secret)), format)
	}
}

func TestParseSecretErrors(t *testing.T) {
	t.Parallel()

	short := "whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 21 bytes
	long := "whsec_" + strings.Repeat("A", 88)         // 66 bytes
	for name, s := range map[string]string{
		"empty":       "",
		"prefix only": "whsec_",
		"not base64":  "whsec_not-base64!",
		"url base64":  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La-_Sw",
		"too short":   short,
		"too long":    long,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			secret, err := signing.ParseSecret(s)
			require.ErrorIs(t, err, signing.ErrInvalidSecret)
			require.Nil(t, secret)
			if body := strings.TrimPrefix(s, "whsec_"); body != "" {
				require.NotContains(t, err.Error(), body, "errors never echo the secret")
			}
		})
	}
}

func TestRDSignatureKnownAnswer(t *testing.T) {
	t.Parallel()

	// RFC 4231 test case 2 (HMAC-SHA256, key "Jefe").
	got := signing.RDSignature([]byte("Jefe"), []byte("what do ya want for nothing?"))
	require.Equal(t, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", got)
}

func TestVerifyRDSignature(t *testing.T) {
	t.Parallel()

	secret, other := signing.GenerateSecret(), signing.GenerateSecret()
	body := []byte(`{"event":"URL_UPDATED"}`)
	header := func(v string) http.Header {
		h := http.Header{}
		if v != "" {
			h.Set(signing.HeaderRDSignature, v)
		}
		return h
	}
	good := header(signing.RDSignature(secret, body))

	require.NoError(t, signing.VerifyRDSignature([]string{secret.Encode()}, good, body))
	require.NoError(t, signing.VerifyRDSignature([]string{other.Encode(), secret.Encode()}, good, body))

	for name, tc := range map[string]struct {
		secrets []string
		headers http.Header
		body    []byte
		want    error
	}{
		"wrong secret":  {secrets: []string{other.Encode()}, headers: good, body: body, want: signing.ErrNoMatchingSignature},
		"tampered body": {headers: good, body: []byte(`{"event":"URL_UPDATED" }`), want: signing.ErrNoMatchingSignature},
		"missing":       {headers: header(""), body: body, want: signing.ErrMissingHeader},
		"no prefix":     {headers: header(strings.TrimPrefix(signing.RDSignature(secret, body), "sha256=")), body: body, want: signing.ErrNoMatchingSignature},
		"not hex":       {headers: header("sha256=zz"), body: body, want: signing.ErrNoMatchingSignature},
		"bad secret":    {secrets: []string{"nope"}, headers: good, body: body, want: signing.ErrInvalidSecret},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			if tc.secrets == nil {
				tc.secrets = []string{secret.Encode()}
			}
			require.ErrorIs(t, signing.VerifyRDSignature(tc.secrets, tc.headers, tc.body), tc.want)
		})
	}
}

// TestReceiverRoundTrip sends a signed request over real HTTP to a receiver
// that verifies it the way an integrator would, so header names survive the
// wire and the body is verified byte for byte.
func TestReceiverRoundTrip(t *testing.T) {
	t.Parallel()

	secret := signing.GenerateSecret()
	secrets := []string{secret.Encode()}
	type verdict struct{ standard, rd error }
	results := make(chan verdict, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			results <- verdict{err, err}
			return
		}
		results <- verdict{
			standard: signing.Verify(secrets, r.Header, body, time.Minute),
			rd:       signing.VerifyRDSignature(secrets, r.Header, body),
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	body := []byte(`{"type":"DATA_RESULT","data":{"task_id":"0190…"}}`)
	now := time.Now()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = headersFor("msg_roundtrip", now, signing.Sign("msg_roundtrip", now, body, secret))
	req.Header.Set(signing.HeaderRDSignature, signing.RDSignature(secret, body))

	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	got := <-results
	require.NoError(t, got.standard, "webhook-signature")
	require.NoError(t, got.rd, "X-RD-Signature")
}
