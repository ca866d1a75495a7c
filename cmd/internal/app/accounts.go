package app

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reviewdata/rd/api"
	"github.com/reviewdata/rd/internal/authtoken"
	"github.com/reviewdata/rd/internal/ratelimit"
	"github.com/reviewdata/rd/internal/redact"
	"github.com/reviewdata/rd/service"
)

// AuthConfig is operator authentication and the API's rate limits. Zero
// fields take the defaults of the services that use them.
type AuthConfig struct {
	// JWTKeys sign and verify access tokens; the first signs (AUTH_JWT_KEYS).
	// Required by `rd api`.
	JWTKeys []authtoken.Key
	// AccessTTL is the access tokens' lifetime. Defaults to 15 minutes.
	AccessTTL time.Duration
	// RefreshTTL is a refresh token's lifetime. Defaults to 7 days.
	RefreshTTL time.Duration
	// APIKeyPerMinute is an API key's default request rate. Defaults to 600.
	APIKeyPerMinute int
	// LoginPerIPPerMinute caps login attempts per client address. Defaults
	// to 20.
	LoginPerIPPerMinute int
	// LockoutThreshold failures within LockoutWindow lock an account for
	// LockoutDuration. Defaults to 5, 15 minutes, 15 minutes.
	LockoutThreshold int
	LockoutWindow    time.Duration
	LockoutDuration  time.Duration
}

// jwtIssuer is the "iss" of RD's access tokens.
const jwtIssuer = "rd-api"

// ParseJWTKeys parses AUTH_JWT_KEYS: comma-separated kid:secret pairs, the
// secret in standard or URL-safe base64, padded or not, at least 32 bytes.
// Errors never repeat a secret.
func ParseJWTKeys(v string) ([]authtoken.Key, error) {
	var keys []authtoken.Key
	for i, part := range SplitList(v) {
		id, secret, ok := strings.Cut(part, ":")
		id = strings.TrimSpace(id)
		if !ok || id == "" {
			return nil, fmt.Errorf("key %d is not kid:base64secret; generate one with `rd admin jwt-key generate`", i+1)
		}
		raw, err := decodeBase64(strings.TrimSpace(secret))
		if err != nil {
			return nil, fmt.Errorf("key %q: the secret is not base64", id)
		}
		if len(raw) < authtoken.MinSecretLen {
			return nil, fmt.Errorf("key %q: the secret is %d bytes; use at least %d random bytes", id, len(raw), authtoken.MinSecretLen)
		}
		keys = append(keys, authtoken.Key{ID: id, Secret: raw})
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys; generate one with `rd admin jwt-key generate`")
	}
	return keys, nil
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func parsePositiveInt(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err == nil && n < 1 {
		err = fmt.Errorf("must be at least 1, got %d", n)
	}
	return n, err
}

// withAccounts adds the account services and rate limits to the API's
// dependencies. It returns an error saying what to set when AUTH_JWT_KEYS
// is missing or unusable.
func withAccounts(deps *api.Deps, cfg AuthConfig, d *Deps) error {
	if len(cfg.JWTKeys) == 0 {
		return errors.New("config: AUTH_JWT_KEYS is required by the API: set it to the output of `rd admin jwt-key generate`")
	}
	issuer := &authtoken.Issuer{Keys: cfg.JWTKeys, Issuer: jwtIssuer, AccessTTL: cfg.AccessTTL}
	sessions, err := service.NewSessions(service.SessionsConfig{
		Store: d.Store, Tokens: issuer, Redis: d.Redis, RefreshTTL: cfg.RefreshTTL,
		LoginPerIPPerMinute: cfg.LoginPerIPPerMinute, LockoutThreshold: cfg.LockoutThreshold,
		LockoutWindow: cfg.LockoutWindow, LockoutDuration: cfg.LockoutDuration, Logger: d.Logger,
	})
	if err != nil {
		return fmt.Errorf("config: AUTH_JWT_KEYS: %w", err)
	}
	deps.Sessions = sessions
	deps.Users = &service.Users{Store: d.Store}
	deps.APIKeys = &service.APIKeys{Store: d.Store, Integrators: d.Integrators}
	deps.Publishers = &service.PublisherAdmin{Store: d.Store}
	deps.APIKeyLimits = &service.APIKeyLimits{
		Limiter:   &ratelimit.Limiter{Redis: d.Redis, Prefix: "rd:rl:"},
		PerMinute: cfg.APIKeyPerMinute, Logger: d.Logger,
	}
	return nil
}

// shownValue is how a bad value appears in Load's error: `=<value>`, or
// nothing for a variable that may hold a secret (keys, credentials, URLs
// with passwords), since start-up errors end up in logs.
func shownValue(name, val string) string {
	if redact.IsSecretKey(name) || strings.Contains(name, "KEY") || strings.HasSuffix(name, "_URL") {
		return ""
	}
	return fmt.Sprintf("=%q", val)
}
