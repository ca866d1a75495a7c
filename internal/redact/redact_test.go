package redact

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJSONRedactsSecretsAtAnyDepth(t *testing.T) {
	t.Parallel()
	in := `{"api_key":"rd_live_abc","foreign_key":"fk-1","nested":{"Password":"p","list":[{"refresh_token":"r","ok":1}]},"cookies":["a"]}`
	got := JSON([]byte(in))
	require.JSONEq(t, `{"api_key":"[REDACTED]","foreign_key":"fk-1","nested":{"Password":"[REDACTED]","list":[{"refresh_token":"[REDACTED]","ok":1}]},"cookies":"[REDACTED]"}`, string(got))
}

func TestJSONKeepsNoUnparsableBytes(t *testing.T) {
	t.Parallel()
	require.JSONEq(t, `{"_unparsable_body":true}`, string(JSON([]byte(`{"api_key":"rd_live_x"`))))
	require.Equal(t, "null", string(JSON(nil)))
}

func TestIsSecretKey(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"api_key", "X-API-Key", "Authorization", "client_secret", "session_cookie"} {
		require.True(t, IsSecretKey(k), k)
	}
	for _, k := range []string{"foreign_key", "external_location_id", "publisher_key", "max_reviews"} {
		require.False(t, IsSecretKey(k), k)
	}
}
