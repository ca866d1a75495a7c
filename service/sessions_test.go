package service_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/authtoken"
	"github.com/reviewdata/rd/internal/password"
	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/internal/redistest"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// cheap are Argon2id parameters that keep tests fast; production uses
// password.DefaultParams.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const goodPassword = "correct horse battery"

// accountsBundle is a fresh database, a Redis key space of the test's own,
// and the account services over them.
type accountsBundle struct {
	ctx      context.Context
	store    *store.Store
	redis    *redis.Client
	prefix   string
	logs     *syncBuffer
	issuer   *authtoken.Issuer
	users    *service.Users
	sessions *service.Sessions
}

var (
	sharedStoreOnce sync.Once
	sharedStore     *store.Store
)

// setupAccounts shares one migrated database per test binary: services run
// their own transactions, so a rolled-back test transaction cannot hold
// them, and unique emails keep tests apart.
func setupAccounts(t *testing.T, tweak ...func(*service.SessionsConfig)) *accountsBundle {
	t.Helper()
	sharedStoreOnce.Do(func() {
		// The database outlives this test; the next run's sweep drops it.
		st, err := store.Open(context.Background(), store.Config{DatabaseURL: pgtest.NewDatabase(&keepAlive{T: t}), MaxConns: 10})
		require.NoError(t, err)
		sharedStore = st
	})
	require.NotNil(t, sharedStore, "shared test database")

	client := redistest.Client(t)
	prefix := redistest.Prefix(t, client)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	issuer := &authtoken.Issuer{Keys: []authtoken.Key{{ID: "k1", Secret: bytes.Repeat([]byte("s"), 32)}}, Issuer: "rd-test"}
	cfg := service.SessionsConfig{
		Store: sharedStore, Tokens: issuer, Redis: client, KeyPrefix: prefix,
		PasswordParams: cheap, Logger: logger, LockoutThreshold: 3,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	sessions, err := service.NewSessions(cfg)
	require.NoError(t, err)
	return &accountsBundle{
		ctx: t.Context(), store: sharedStore, redis: client, prefix: prefix, logs: logs, issuer: issuer,
		users:    &service.Users{Store: sharedStore, PasswordParams: cheap},
		sessions: sessions,
	}
}

// keepAlive hands pgtest a TB whose cleanups never run, so the shared
// database is not dropped when the first test ends.
type keepAlive struct{ *testing.T }

func (k *keepAlive) Cleanup(func()) {}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func uniqueEmail() string { return "op-" + strings.ToLower(rand.Text()[:10]) + "@example.com" }

// newUser creates an account with roles and goodPassword.
func (b *accountsBundle) newUser(t *testing.T, roles ...string) *store.User {
	t.Helper()
	u, err := b.users.Create(b.ctx, service.NewUser{Email: uniqueEmail(), Name: "Op", Password: goodPassword, Roles: roles}, nil)
	require.NoError(t, err)
	return u
}

// requireCode asserts err is a *service.Error with status and code.
func requireCode(t *testing.T, err error, status int, code string) *service.Error {
	t.Helper()
	var se *service.Error
	require.True(t, errors.As(err, &se), "want a *service.Error, got %v", err)
	require.Equal(t, status, se.Status, "%v", err)
	require.Equal(t, code, se.Code, "%v", err)
	return se
}

func TestLoginIssuesTokensThatAuthenticate(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t, "qa_operator")

	sess, err := b.sessions.Login(b.ctx, "  "+u.Email+" ", goodPassword, "10.0.0.1", "")
	require.NoError(t, err, "the email is normalised")
	require.Equal(t, authtoken.TypeAccess, sess.TokenType)
	require.True(t, sess.AccessExpiresAt.After(time.Now()))
	require.WithinDuration(t, time.Now().Add(15*time.Minute), sess.AccessExpiresAt, 2*time.Second)
	require.Regexp(t, `^rdr_`, sess.RefreshToken)
	require.Equal(t, u.ID, sess.User.UserID)
	require.Equal(t, []string{"qa_operator"}, sess.User.Roles)

	claims, err := b.issuer.Parse(sess.AccessToken, authtoken.TypeAccess)
	require.NoError(t, err)
	require.Equal(t, u.ID.String(), claims.Subject)
	require.Equal(t, []string{"qa_operator"}, claims.Roles)
	require.NotEmpty(t, claims.ID)

	p, err := b.sessions.Authenticate(b.ctx, sess.AccessToken, authtoken.TypeAccess)
	require.NoError(t, err)
	require.Equal(t, u.ID, p.UserID)
	require.True(t, p.Can(service.PermQATaskClaim))
	require.False(t, p.Can(service.PermUserManage))

	_, err = b.sessions.Authenticate(b.ctx, sess.AccessToken, authtoken.TypeExtension)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidToken)

	got, err := b.users.Get(b.ctx, u.ID)
	require.NoError(t, err)
	require.NotNil(t, got.LastLoginAt)
}

func TestExtensionLogin(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t, "qa_operator")

	sess, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.0.2", authtoken.TypeExtension)
	require.NoError(t, err)
	require.Equal(t, authtoken.TypeExtension, sess.TokenType)
	_, err = b.sessions.Authenticate(b.ctx, sess.AccessToken, authtoken.TypeAccess)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidToken)
	_, err = b.sessions.Authenticate(b.ctx, sess.AccessToken, authtoken.TypeExtension)
	require.NoError(t, err)

	next, err := b.sessions.Refresh(b.ctx, sess.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, authtoken.TypeExtension, next.TokenType, "a family keeps its token type")
	_, err = b.sessions.Authenticate(b.ctx, next.AccessToken, authtoken.TypeExtension)
	require.NoError(t, err)

	_, err = b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.0.2", "console")
	requireCode(t, err, http.StatusUnprocessableEntity, service.CodeValidationFailed)
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t, func(c *service.SessionsConfig) { c.LockoutThreshold = 100 })
	u := b.newUser(t)

	_, err := b.sessions.Login(b.ctx, u.Email, "wrong password!", "10.0.1.1", "")
	wrongPassword := requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidCredentials)
	_, err = b.sessions.Login(b.ctx, "nobody-"+u.Email, goodPassword, "10.0.1.1", "")
	unknownEmail := requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidCredentials)
	require.Equal(t, wrongPassword.Message, unknownEmail.Message, "no account enumeration")

	admin := b.newUser(t, "admin")
	_, err = b.users.Disable(b.ctx, u.ID, admin.ID)
	require.NoError(t, err)
	_, err = b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.1.1", "")
	requireCode(t, err, http.StatusForbidden, service.CodeUserDisabled)
	_, err = b.sessions.Login(b.ctx, u.Email, "wrong password!", "10.0.1.1", "")
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidCredentials)
}

func TestLoginLockout(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t) // threshold 3
	u := b.newUser(t)

	for range 2 {
		_, err := b.sessions.Login(b.ctx, u.Email, "wrong password!", "10.0.2.1", "")
		requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidCredentials)
	}
	_, err := b.sessions.Login(b.ctx, u.Email, "wrong password!", "10.0.2.1", "")
	se := requireCode(t, err, http.StatusTooManyRequests, service.CodeLoginLocked)
	require.Greater(t, se.Details[service.DetailRetryAfter], 0)

	// Locked: even the right password is refused, from any address.
	_, err = b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.2.2", "")
	requireCode(t, err, http.StatusTooManyRequests, service.CodeLoginLocked)

	// Another account is not affected.
	other := b.newUser(t)
	_, err = b.sessions.Login(b.ctx, other.Email, goodPassword, "10.0.2.1", "")
	require.NoError(t, err)
}

// lockoutScriptHook calls after each time a lock-out script without
// arguments has run on the hooked client: the early Locked check is call 1,
// and the next is the re-check after the password verified (or, should there
// be none, the Reset after a successful login). A non-nil error from after
// replaces the command's.
type lockoutScriptHook struct {
	calls atomic.Int32
	after func(ctx context.Context, call int32, key string) error
}

func (h *lockoutScriptHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *lockoutScriptHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *lockoutScriptHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := next(ctx, cmd); err != nil {
			return err // including NOSCRIPT, which the script retries with EVAL
		}
		args := cmd.Args()
		if name := cmd.Name(); (name != "evalsha" && name != "eval") || len(args) != 4 {
			return nil
		}
		key, _ := args[3].(string)
		if !strings.Contains(key, "lockout:") {
			return nil
		}
		if err := h.after(ctx, h.calls.Add(1), key); err != nil {
			cmd.SetErr(err)
			return err
		}
		return nil
	}
}

// TestLoginRechecksLockAfterVerifying locks the account between the early
// check and the password verification, as concurrent failures counted
// meanwhile would: the right password must still be refused.
func TestLoginRechecksLockAfterVerifying(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		after  func(ctx context.Context, client *redis.Client, call int32, key string) error
		status int
		code   string
	}{{
		name: "locked meanwhile",
		after: func(ctx context.Context, client *redis.Client, call int32, key string) error {
			if call == 1 { // as the lock-out's fail script locks
				if err := client.HSet(ctx, key, "locked", 1).Err(); err != nil {
					return err
				}
				return client.PExpire(ctx, key, time.Minute).Err()
			}
			return nil
		},
		status: http.StatusTooManyRequests, code: service.CodeLoginLocked,
	}, {
		name: "Redis lost meanwhile",
		after: func(_ context.Context, _ *redis.Client, call int32, _ string) error {
			if call == 2 {
				return errors.New("connection reset")
			}
			return nil
		},
		status: http.StatusServiceUnavailable, code: service.CodeUnavailable,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := redistest.Client(t)
			hook := &lockoutScriptHook{}
			hook.after = func(ctx context.Context, call int32, key string) error { return tc.after(ctx, client, call, key) }
			client.AddHook(hook)
			b := setupAccounts(t, func(c *service.SessionsConfig) { c.Redis = client })
			u := b.newUser(t)

			_, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.2.3", "")
			requireCode(t, err, tc.status, tc.code)
			require.EqualValues(t, 2, hook.calls.Load(), "checked before and after verifying")
			got, err := b.users.Get(b.ctx, u.ID)
			require.NoError(t, err)
			require.Nil(t, got.LastLoginAt, "no session was started")
		})
	}
}

func TestLoginSuccessResetsFailures(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t) // threshold 3
	u := b.newUser(t)
	for range 2 {
		_, err := b.sessions.Login(b.ctx, u.Email, "wrong password!", "10.0.3.1", "")
		requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidCredentials)
	}
	_, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.3.1", "")
	require.NoError(t, err)
	for range 2 {
		_, err := b.sessions.Login(b.ctx, u.Email, "wrong password!", "10.0.3.1", "")
		requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidCredentials) // the count restarted
	}
}

func TestLoginPerIPLimit(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t, func(c *service.SessionsConfig) { c.LoginPerIPPerMinute = 2; c.LockoutThreshold = 100 })
	u := b.newUser(t)
	for range 2 {
		_, err := b.sessions.Login(b.ctx, u.Email, "wrong password!", "10.0.4.1", "")
		requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidCredentials)
	}
	_, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.4.1", "")
	se := requireCode(t, err, http.StatusTooManyRequests, service.CodeRateLimited)
	require.GreaterOrEqual(t, se.Details[service.DetailRetryAfter], 1)

	_, err = b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.4.2", "")
	require.NoError(t, err, "another address has its own allowance")
}

func TestLoginFailsClosedWithoutRedis(t *testing.T) {
	t.Parallel()
	down := redistest.Unreachable(t)
	b := setupAccounts(t, func(c *service.SessionsConfig) { c.Redis = down })
	u := b.newUser(t)
	_, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.5.1", "")
	se := requireCode(t, err, http.StatusServiceUnavailable, service.CodeUnavailable)
	require.Equal(t, 5, se.Details[service.DetailRetryAfter])
	require.Contains(t, b.logs.String(), "rate limiter unavailable")
}

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t, "viewer")
	first, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.6.1", "")
	require.NoError(t, err)

	second, err := b.sessions.Refresh(b.ctx, first.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, first.RefreshToken, second.RefreshToken, "rotated")
	require.NotEqual(t, first.AccessToken, second.AccessToken)
	third, err := b.sessions.Refresh(b.ctx, second.RefreshToken)
	require.NoError(t, err)

	// An unrelated session of the same user survives the reuse below.
	otherLogin, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.6.1", "")
	require.NoError(t, err)

	// The first token was rotated: presenting it again is reuse.
	_, err = b.sessions.Refresh(b.ctx, first.RefreshToken)
	requireCode(t, err, http.StatusUnauthorized, service.CodeRefreshTokenReused)
	require.Contains(t, b.logs.String(), "refresh token reused")

	// The whole family is revoked, including the newest token.
	_, err = b.sessions.Refresh(b.ctx, third.RefreshToken)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidRefreshToken)

	_, err = b.sessions.Refresh(b.ctx, otherLogin.RefreshToken)
	require.NoError(t, err, "other families are untouched")
}

func TestRefreshConcurrentUseRevokesFamily(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t)
	sess, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.7.1", "")
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = b.sessions.Refresh(b.ctx, sess.RefreshToken) })
	}
	wg.Wait()
	succeeded := 0
	for _, err := range errs {
		if err == nil {
			succeeded++
		} else {
			requireCode(t, err, http.StatusUnauthorized, service.CodeRefreshTokenReused)
		}
	}
	require.Equal(t, 1, succeeded, "the row lock lets exactly one use win")
}

// TestRefreshRefusesPartlyRevokedFamily stands for a revocation that missed
// the token a racing rotation inserted: the family's other token is revoked,
// so the live one must not refresh, and ends revoked too.
func TestRefreshRefusesPartlyRevokedFamily(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t)
	first, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.7.2", "")
	require.NoError(t, err)
	second, err := b.sessions.Refresh(b.ctx, first.RefreshToken)
	require.NoError(t, err)

	_, err = b.store.DB.NewUpdate().Model((*store.RefreshToken)(nil)).
		Set("revoked_at = now()").
		Set("revoked_reason = ?", store.RevokedReuse).
		Where("token_hash = ?", authtoken.HashRefreshToken(first.RefreshToken)).
		Exec(b.ctx)
	require.NoError(t, err)

	_, err = b.sessions.Refresh(b.ctx, second.RefreshToken)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidRefreshToken)

	var tokens []store.RefreshToken
	require.NoError(t, b.store.DB.NewSelect().Model(&tokens).
		Where("family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = ?)", authtoken.HashRefreshToken(second.RefreshToken)).
		Scan(b.ctx))
	require.Len(t, tokens, 2, "no token was issued")
	for _, tok := range tokens {
		require.NotNil(t, tok.RevokedAt, "the whole family is revoked")
		require.Equal(t, store.RevokedReuse, *tok.RevokedReason, "for the family's reason")
	}
}

func TestRefreshRefusals(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t, func(c *service.SessionsConfig) { c.RefreshTTL = time.Second })
	u := b.newUser(t)
	admin := b.newUser(t, "admin")

	for _, bad := range []string{"", "not-a-token", "rdr_unknown"} {
		_, err := b.sessions.Refresh(b.ctx, bad)
		requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidRefreshToken)
	}

	sess, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.8.1", "")
	require.NoError(t, err)
	_, err = b.users.Disable(b.ctx, u.ID, admin.ID)
	require.NoError(t, err)
	_, err = b.sessions.Refresh(b.ctx, sess.RefreshToken)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidRefreshToken)
	_, err = b.users.Enable(b.ctx, u.ID)
	require.NoError(t, err)
	_, err = b.sessions.Refresh(b.ctx, sess.RefreshToken)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidRefreshToken) // disabling revoked it for good

	expiring, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.8.1", "")
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond)
	_, err = b.sessions.Refresh(b.ctx, expiring.RefreshToken)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidRefreshToken)
}

func TestLogoutRevokesFamily(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t)
	sess, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.9.1", "")
	require.NoError(t, err)
	next, err := b.sessions.Refresh(b.ctx, sess.RefreshToken)
	require.NoError(t, err)

	require.NoError(t, b.sessions.Logout(b.ctx, sess.RefreshToken), "any token of the family logs it out")
	_, err = b.sessions.Refresh(b.ctx, next.RefreshToken)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidRefreshToken)
	require.NoError(t, b.sessions.Logout(b.ctx, sess.RefreshToken), "twice is fine")
	require.NoError(t, b.sessions.Logout(b.ctx, "rdr_nothing"), "unknown is fine")
}

func TestDisabledUsersTokensStopAtOnce(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t, "viewer")
	admin := b.newUser(t, "admin")
	sess, err := b.sessions.Login(b.ctx, u.Email, goodPassword, "10.0.10.1", "")
	require.NoError(t, err)
	_, err = b.sessions.Authenticate(b.ctx, sess.AccessToken, authtoken.TypeAccess)
	require.NoError(t, err)

	_, err = b.users.Disable(b.ctx, u.ID, admin.ID)
	require.NoError(t, err)
	_, err = b.sessions.Authenticate(b.ctx, sess.AccessToken, authtoken.TypeAccess)
	requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidToken)

	_, err = b.users.Enable(b.ctx, u.ID)
	require.NoError(t, err)
	_, err = b.sessions.Authenticate(b.ctx, sess.AccessToken, authtoken.TypeAccess)
	require.NoError(t, err, "enabling restores unexpired access tokens")
}

func TestAuthenticateRefusesForeignTokens(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	other := &authtoken.Issuer{Keys: []authtoken.Key{{ID: "k1", Secret: bytes.Repeat([]byte("x"), 32)}}, Issuer: "rd-test"}
	forged, _, err := other.IssueAccess(uuid.NewString(), []string{"admin"}, authtoken.TypeAccess)
	require.NoError(t, err)
	unknownUser, _, err := b.issuer.IssueAccess(uuid.NewString(), []string{"admin"}, authtoken.TypeAccess)
	require.NoError(t, err)
	for _, token := range []string{"", "a.b.c", forged, unknownUser} {
		_, err := b.sessions.Authenticate(b.ctx, token, authtoken.TypeAccess)
		requireCode(t, err, http.StatusUnauthorized, service.CodeInvalidToken)
	}
}

func TestLoginRehashesOldParameters(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	u := b.newUser(t)
	stronger := cheap
	stronger.Time = 2
	s2, err := service.NewSessions(service.SessionsConfig{
		Store: b.store, Tokens: b.issuer, Redis: b.redis, KeyPrefix: b.prefix, PasswordParams: stronger,
		Logger: slog.New(slog.NewTextHandler(b.logs, nil)),
	})
	require.NoError(t, err)
	_, err = s2.Login(b.ctx, u.Email, goodPassword, "10.0.11.1", "")
	require.NoError(t, err)
	got, err := b.users.Get(b.ctx, u.ID)
	require.NoError(t, err)
	require.Contains(t, got.PasswordHash, "t=2", "upgraded to the current parameters")
	_, err = s2.Login(b.ctx, u.Email, goodPassword, "10.0.11.1", "")
	require.NoError(t, err, "the upgraded hash still verifies")
}

func TestNewSessionsValidates(t *testing.T) {
	t.Parallel()
	_, err := service.NewSessions(service.SessionsConfig{})
	require.ErrorContains(t, err, "Store")
	_, err = service.NewSessions(service.SessionsConfig{Store: &store.Store{}, Logger: slog.Default()})
	require.ErrorContains(t, err, "AUTH_JWT_KEYS")
	_, err = service.NewSessions(service.SessionsConfig{Store: &store.Store{}, Logger: slog.Default(),
		Tokens: &authtoken.Issuer{Keys: []authtoken.Key{{ID: "k", Secret: []byte("short")}}, Issuer: "x"}})
	require.ErrorContains(t, err, "at least 32")
}
