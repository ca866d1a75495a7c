package app

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/api"
)

func TestParseJWTKeys(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte{0xfb}, 32) // "+" and "/" in standard base64
	keys, err := ParseJWTKeys(" new:" + base64.StdEncoding.EncodeToString(secret) + ", old:" + base64.RawURLEncoding.EncodeToString(secret))
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.Equal(t, "new", keys[0].ID, "the first signs")
	require.Equal(t, secret, keys[0].Secret)
	require.Equal(t, secret, keys[1].Secret, "URL-safe, unpadded base64 too")

	short := base64.StdEncoding.EncodeToString([]byte("too-short-secret"))
	for input, want := range map[string]string{
		"":                    "no keys",
		"nokid":               "not kid:base64secret",
		":" + short:           "not kid:base64secret",
		"k:" + short:          "use at least 32",
		"k:!!!not-base64!!!!": "not base64",
	} {
		_, err := ParseJWTKeys(input)
		require.ErrorContains(t, err, want, input)
	}
}

func TestLoadAuthConfig(t *testing.T) {
	t.Parallel()
	secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("s"), 32))
	cfg, err := Load(env(map[string]string{
		"AUTH_JWT_KEYS":                      "k1:" + secret,
		"AUTH_ACCESS_TTL":                    "5m",
		"RATE_LIMIT_API_KEY_PER_MINUTE":      "60",
		"RATE_LIMIT_LOGIN_LOCKOUT_THRESHOLD": "3",
		"RATE_LIMIT_LOGIN_LOCKOUT_DURATION":  "1h",
	}))
	require.NoError(t, err)
	require.Equal(t, "k1", cfg.Auth.JWTKeys[0].ID)
	require.Equal(t, 5*time.Minute, cfg.Auth.AccessTTL)
	require.Equal(t, 60, cfg.Auth.APIKeyPerMinute)
	require.Equal(t, 3, cfg.Auth.LockoutThreshold)
	require.Equal(t, time.Hour, cfg.Auth.LockoutDuration)

	for name, value := range map[string]string{
		"RATE_LIMIT_LOGIN_PER_IP_PER_MINUTE": "0",
		"AUTH_REFRESH_TTL":                   "-1h",
	} {
		_, err := Load(env(map[string]string{name: value}))
		require.ErrorContains(t, err, name)
	}
}

// A bad secret must not be echoed into the start-up error, which lands in
// logs.
func TestLoadHidesSecretValues(t *testing.T) {
	t.Parallel()
	const leaked = "k1:c2hvcnQtYnV0LXNlY3JldA=="
	_, err := Load(env(map[string]string{"AUTH_JWT_KEYS": leaked}))
	require.ErrorContains(t, err, "AUTH_JWT_KEYS")
	require.NotContains(t, err.Error(), "c2hvcnQtYnV0LXNlY3JldA")

	_, err = Load(env(map[string]string{"LOG_LEVEL": "loud"}))
	require.ErrorContains(t, err, `LOG_LEVEL="loud"`, "harmless values are still shown")
}

func TestWithAccountsNeedsKeys(t *testing.T) {
	t.Parallel()
	var deps api.Deps
	err := withAccounts(&deps, AuthConfig{}, &Deps{Logger: slog.Default()})
	require.ErrorContains(t, err, "AUTH_JWT_KEYS is required")
	require.Nil(t, deps.Sessions)
}
