package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/cmd/internal/app"
	"github.com/reviewdata/rd/internal/password"
	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

type adminBundle struct {
	ctx   context.Context
	cfg   app.Config
	store *store.Store
}

func setupAdmin(t *testing.T) *adminBundle {
	t.Helper()
	url := pgtest.NewDatabase(t)
	cfg, err := app.Load(func(name string) string {
		if name == "DATABASE_URL" {
			return url
		}
		return ""
	})
	require.NoError(t, err)
	st, err := store.Open(t.Context(), store.Config{DatabaseURL: url, MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return &adminBundle{ctx: t.Context(), cfg: cfg, store: st}
}

func email() string { return "boot-" + strings.ToLower(rand.Text()[:8]) + "@example.com" }

func TestAdminUserCreate(t *testing.T) {
	t.Parallel()
	b := setupAdmin(t)

	t.Run("PasswordFromStdin", func(t *testing.T) {
		addr := email()
		var out, errOut bytes.Buffer
		err := admin(b.ctx, b.cfg, []string{"user", "create", "--email", addr, "--role", "admin", "--name", "Boot", "--password-stdin"},
			strings.NewReader("from stdin passphrase\nignored"), &out, &errOut)
		require.NoError(t, err, errOut.String())
		require.Contains(t, out.String(), "<"+addr+"> with roles admin")
		require.NotContains(t, out.String(), "from stdin passphrase", "a given password is never echoed")

		u, err := store.GetUserByEmail(b.ctx, b.store.DB, addr)
		require.NoError(t, err)
		require.Equal(t, []string{"admin"}, u.Roles)
		ok, _, err := password.Verify("from stdin passphrase", u.PasswordHash)
		require.NoError(t, err)
		require.True(t, ok, "the first line, without its newline")
	})

	t.Run("GeneratedPasswordIsPrintedOnce", func(t *testing.T) {
		addr := email()
		var out bytes.Buffer
		err := admin(b.ctx, b.cfg, []string{"user", "create", "--email", addr, "--role", "qa_lead,viewer"}, strings.NewReader(""), &out, &out)
		require.NoError(t, err, out.String())
		m := regexp.MustCompile(`password \(shown once, store it now\): (\S+)`).FindStringSubmatch(out.String())
		require.Len(t, m, 2, out.String())

		u, err := store.GetUserByEmail(b.ctx, b.store.DB, addr)
		require.NoError(t, err)
		require.Equal(t, []string{"qa_lead", "viewer"}, u.Roles)
		ok, _, err := password.Verify(m[1], u.PasswordHash)
		require.NoError(t, err)
		require.True(t, ok)
	})

	t.Run("Refusals", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := admin(b.ctx, b.cfg, []string{"user", "create", "--email", email(), "--role", "emperor"}, strings.NewReader(""), &out, &errOut)
		require.ErrorContains(t, err, "UNKNOWN_ROLE")
		err = admin(b.ctx, b.cfg, []string{"user", "create", "--email", email(), "--role", "admin", "--password-stdin"}, strings.NewReader("short\n"), &out, &errOut)
		require.ErrorContains(t, err, "WEAK_PASSWORD")
		require.NotContains(t, err.Error(), "short")
		require.ErrorIs(t, admin(b.ctx, b.cfg, []string{"user", "create", "--role", "admin"}, nil, &out, &errOut), errUsage)
	})
}

func TestAdminAPIKeyCreate(t *testing.T) {
	t.Parallel()
	b := setupAdmin(t)
	var out, errOut bytes.Buffer
	err := admin(b.ctx, b.cfg, []string{"api-key", "create", "--name", "RM prod", "--integrator", "rm", "--environment", "production", "--rate-limit-per-minute", "120"},
		nil, &out, &errOut)
	require.NoError(t, err, errOut.String())
	m := regexp.MustCompile(`key \(shown once, store it now\): (rd_live_\S+)`).FindStringSubmatch(out.String())
	require.Len(t, m, 2, out.String())

	who, err := (&service.Integrators{Store: b.store, Logger: slog.Default()}).Authenticate(b.ctx, m[1])
	require.NoError(t, err, "the printed key authenticates")
	require.Equal(t, "rm", who.Name)
	require.Equal(t, 120, *who.RateLimitPerMinute)

	err = admin(b.ctx, b.cfg, []string{"api-key", "create", "--name", "x", "--integrator", "rm", "--environment", "staging"}, nil, &out, &errOut)
	require.ErrorContains(t, err, "VALIDATION_FAILED")
}

func TestAdminJWTKeyGenerate(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	noEnv := func(string) string { return "" }
	require.NoError(t, run(t.Context(), []string{"admin", "jwt-key", "generate"}, noEnv, &out, &errOut))
	keys, err := app.ParseJWTKeys(strings.TrimSpace(out.String()))
	require.NoError(t, err, "the printed key is a valid AUTH_JWT_KEYS entry")
	require.Len(t, keys[0].Secret, 32)
}
