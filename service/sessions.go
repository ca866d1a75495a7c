package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/reviewdata/rd/internal/authtoken"
	"github.com/reviewdata/rd/internal/password"
	"github.com/reviewdata/rd/internal/ratelimit"
	"github.com/reviewdata/rd/store"
)

// Principal is an authenticated operator: who they are and what they may
// do, read from the database on every request so that disabling an account
// or changing its roles takes effect at once.
type Principal struct {
	// UserID identifies the user.
	UserID uuid.UUID
	// Email is the user's login name.
	Email string
	// Roles are the user's role names, sorted.
	Roles []string
	// Permissions are the union of the roles' permissions, sorted.
	Permissions []string
	// TokenType is the type of the token that authenticated the request;
	// empty for a principal built at login.
	TokenType authtoken.TokenType
	// TokenID is that token's jti, for logs.
	TokenID string
}

// Can reports whether p holds permission.
func (p Principal) Can(permission string) bool {
	return slices.Contains(p.Permissions, permission)
}

// Session is what logging in and refreshing return. AccessToken and
// RefreshToken are secrets the client sees once: they are never logged,
// and only the refresh token's hash is stored.
type Session struct {
	// AccessToken is the JWT to send as "Authorization: Bearer …".
	AccessToken string
	// AccessExpiresAt is when AccessToken stops working.
	AccessExpiresAt time.Time
	// TokenType is the access token's type: TypeAccess for the console,
	// TypeExtension for the browser extension.
	TokenType authtoken.TokenType
	// RefreshToken gets the next session, once.
	RefreshToken string
	// RefreshExpiresAt is when RefreshToken stops working.
	RefreshExpiresAt time.Time
	// User is who the session belongs to.
	User Principal
}

// SessionsConfig configures NewSessions. Zero fields other than the
// required ones take their defaults.
type SessionsConfig struct {
	// Store is the database. Required.
	Store *store.Store
	// Tokens signs and verifies access tokens. Required.
	Tokens *authtoken.Issuer
	// Redis holds the login rate limits and lock-outs. Required: without it
	// every login answers 503, by design.
	Redis redis.Scripter
	// KeyPrefix starts every Redis key. Defaults to "rd:".
	KeyPrefix string
	// RefreshTTL is how long a refresh token stays usable; each rotation
	// starts a new one. Defaults to 7 days.
	RefreshTTL time.Duration
	// LoginPerIPPerMinute caps login attempts from one client address.
	// Defaults to 20.
	LoginPerIPPerMinute int
	// LockoutThreshold failed logins for one account within LockoutWindow
	// lock it for LockoutDuration. Default 5 within 15 minutes, for 15
	// minutes.
	LockoutThreshold int
	LockoutWindow    time.Duration
	LockoutDuration  time.Duration
	// RedisTimeout bounds each rate-limit call. Defaults to 100ms.
	RedisTimeout time.Duration
	// MaxConcurrentHashes bounds concurrent password checks, each of which
	// holds PasswordParams.Memory (64 MiB by default). Defaults to 4.
	MaxConcurrentHashes int
	// PasswordParams are the Argon2id parameters hashes should have; a login
	// whose stored hash differs is re-hashed. Defaults to
	// password.DefaultParams.
	PasswordParams password.Params
	// Logger receives security events (refresh token reuse, limiter
	// outages). Required.
	Logger *slog.Logger
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// Sessions logs operators in and out, rotates their refresh tokens and
// authenticates their access tokens.
type Sessions struct {
	cfg     SessionsConfig
	limiter *ratelimit.Limiter
	lockout *ratelimit.Lockout
	hashes  chan struct{}

	dummyOnce sync.Once
	dummyHash string
}

// NewSessions applies cfg's defaults and validates it. It returns an error
// saying what to set when a required field is missing or the token issuer
// is misconfigured.
func NewSessions(cfg SessionsConfig) (*Sessions, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("service: SessionsConfig.Store is nil")
	case cfg.Tokens == nil:
		return nil, errors.New("service: SessionsConfig.Tokens is nil; configure AUTH_JWT_KEYS")
	case cfg.Logger == nil:
		return nil, errors.New("service: SessionsConfig.Logger is nil")
	}
	if err := cfg.Tokens.Validate(); err != nil {
		return nil, fmt.Errorf("service: sessions: %w", err)
	}
	cfg = cfg.withDefaults()
	if err := cfg.PasswordParams.Validate(); err != nil {
		return nil, fmt.Errorf("service: sessions: %w", err)
	}
	s := &Sessions{
		cfg:     cfg,
		limiter: &ratelimit.Limiter{Redis: cfg.Redis, Prefix: cfg.KeyPrefix + "rl:"},
		lockout: &ratelimit.Lockout{
			Redis: cfg.Redis, Prefix: cfg.KeyPrefix + "lockout:",
			Threshold: cfg.LockoutThreshold, Window: cfg.LockoutWindow, Duration: cfg.LockoutDuration,
		},
		hashes: make(chan struct{}, cfg.MaxConcurrentHashes),
	}
	return s, nil
}

func (c SessionsConfig) withDefaults() SessionsConfig {
	if c.KeyPrefix == "" {
		c.KeyPrefix = "rd:"
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 7 * 24 * time.Hour
	}
	if c.LoginPerIPPerMinute <= 0 {
		c.LoginPerIPPerMinute = 20
	}
	if c.LockoutThreshold <= 0 {
		c.LockoutThreshold = 5
	}
	if c.LockoutWindow <= 0 {
		c.LockoutWindow = 15 * time.Minute
	}
	if c.LockoutDuration <= 0 {
		c.LockoutDuration = 15 * time.Minute
	}
	if c.RedisTimeout <= 0 {
		c.RedisTimeout = 100 * time.Millisecond
	}
	if c.MaxConcurrentHashes <= 0 {
		c.MaxConcurrentHashes = 4
	}
	if c.PasswordParams == (password.Params{}) {
		c.PasswordParams = password.DefaultParams
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

var (
	errInvalidCredentials = Unauthorized(CodeInvalidCredentials, "the email or password is wrong")
	errInvalidToken       = Unauthorized(CodeInvalidToken, "the bearer token is missing, invalid or expired, or its account is disabled")
	errInvalidRefresh     = Unauthorized(CodeInvalidRefreshToken, "the refresh token is unknown, expired or revoked; log in again")
	errRefreshReused      = Unauthorized(CodeRefreshTokenReused, "the refresh token was already used; every token of this session is revoked, log in again")
	errUserDisabled       = Forbidden(CodeUserDisabled, "the account is disabled")
	errLoginUnavailable   = Unavailable(CodeUnavailable, "login is temporarily unavailable; try again shortly").WithRetryAfter(5 * time.Second)
)

// Login checks email and password and starts a session whose access tokens
// have type typ (TypeAccess when empty). clientIP is the caller's address,
// for the per-address rate limit.
//
// It returns *Error values: 401 INVALID_CREDENTIALS for a wrong email or
// password (the same answer for both), 403 USER_DISABLED for a right
// password on a disabled account, 429 RATE_LIMITED when the address made
// too many attempts and 429 LOGIN_LOCKED when the account is locked out
// (both with a retry delay), 422 VALIDATION_FAILED for an unknown typ, and
// 503 UNAVAILABLE when Redis cannot be asked: login fails closed, so an
// outage cannot lift the brute-force protection.
func (s *Sessions) Login(ctx context.Context, email, pw, clientIP string, typ authtoken.TokenType) (Session, error) {
	if typ == "" {
		typ = authtoken.TypeAccess
	}
	if typ != authtoken.TypeAccess && typ != authtoken.TypeExtension {
		return Session{}, Invalid(CodeValidationFailed, `token_type must be "access" or "extension"`)
	}
	email = strings.ToLower(strings.TrimSpace(email))
	account := accountKey(email)
	if err := s.checkLoginLimits(ctx, clientIP, account); err != nil {
		return Session{}, err
	}
	user, err := store.GetUserByEmail(ctx, s.cfg.Store.DB, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Session{}, fmt.Errorf("login: %w", err)
	}
	ok, needsRehash, err := s.verify(ctx, pw, user)
	if err != nil {
		return Session{}, err
	}
	if !ok {
		return Session{}, s.loginFailed(ctx, account)
	}
	// Concurrent guesses all pass the early check and are counted only after
	// their (queued) verifications, so the account may have been locked
	// since: ask again before letting a right password in.
	if err := s.checkLocked(ctx, account); err != nil {
		return Session{}, err
	}
	if !user.Active {
		return Session{}, errUserDisabled
	}
	s.withRedis(ctx, func(ctx context.Context) error { return s.lockout.Reset(ctx, account) }, "reset login lock-out")
	if needsRehash {
		s.rehash(ctx, user.ID, pw)
	}
	var sess Session
	err = s.cfg.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		p, err := store.GetPrincipal(ctx, tx, user.ID)
		if err != nil {
			return err
		}
		issued, err := s.issue(ctx, tx, p, typ, uuid.Nil)
		if err != nil {
			return err
		}
		sess = issued.Session
		return store.RecordLogin(ctx, tx, user.ID, s.cfg.Now())
	})
	if err != nil {
		return Session{}, fmt.Errorf("login: %w", err)
	}
	return sess, nil
}

// checkLoginLimits applies the per-address rate limit and the per-account
// lock-out before any password is checked.
func (s *Sessions) checkLoginLimits(ctx context.Context, clientIP, account string) error {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RedisTimeout)
	defer cancel()
	res, err := s.limiter.Allow(rctx, "login-ip:"+clientIP, ratelimit.Limit{Rate: s.cfg.LoginPerIPPerMinute, Period: time.Minute})
	if err != nil {
		s.cfg.Logger.ErrorContext(ctx, "login refused: rate limiter unavailable", "error", err)
		return errLoginUnavailable.WithErr(err)
	}
	if !res.Allowed {
		return RateLimited(CodeRateLimited, "too many login attempts from this address").WithRetryAfter(res.RetryAfter)
	}
	return s.checkLocked(rctx, account)
}

// checkLocked refuses a locked account, and fails closed when the lock-out
// cannot be asked.
func (s *Sessions) checkLocked(ctx context.Context, account string) error {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RedisTimeout)
	defer cancel()
	locked, retry, err := s.lockout.Locked(rctx, account)
	if err != nil {
		s.cfg.Logger.ErrorContext(ctx, "login refused: lock-out store unavailable", "error", err)
		return errLoginUnavailable.WithErr(err)
	}
	if locked {
		return lockedError(retry)
	}
	return nil
}

func lockedError(retry time.Duration) *Error {
	return RateLimited(CodeLoginLocked, "too many failed logins for this account; try again later").WithRetryAfter(retry)
}

// loginFailed counts a failure against the account and answers it.
func (s *Sessions) loginFailed(ctx context.Context, account string) error {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RedisTimeout)
	defer cancel()
	locked, retry, err := s.lockout.Fail(rctx, account)
	if err != nil {
		// The attempt already failed; the limits were checked moments ago.
		s.cfg.Logger.ErrorContext(ctx, "could not count a failed login", "error", err)
	}
	if locked {
		return lockedError(retry)
	}
	return errInvalidCredentials
}

// verify checks pw against user's hash, or against a dummy hash when user is
// nil so that an unknown email costs as much time as a wrong password.
func (s *Sessions) verify(ctx context.Context, pw string, user *store.User) (ok, needsRehash bool, err error) {
	select {
	case s.hashes <- struct{}{}:
		defer func() { <-s.hashes }()
	case <-ctx.Done():
		return false, false, ctx.Err()
	}
	if user == nil {
		_, _, _ = password.VerifyWithParams(pw, s.dummy(), s.cfg.PasswordParams)
		return false, false, nil
	}
	ok, needsRehash, err = password.VerifyWithParams(pw, user.PasswordHash, s.cfg.PasswordParams)
	if err != nil {
		// A corrupt stored hash locks the user out; say so in the log, not
		// to the client.
		s.cfg.Logger.ErrorContext(ctx, "stored password hash is unusable", "user_id", user.ID, "error", err)
		return false, false, nil
	}
	return ok, needsRehash, nil
}

func (s *Sessions) dummy() string {
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = password.HashWithParams(password.Generate(), s.cfg.PasswordParams)
	})
	return s.dummyHash
}

// rehash stores pw under the current parameters; a failure only costs the
// upgrade, so it is logged.
func (s *Sessions) rehash(ctx context.Context, id uuid.UUID, pw string) {
	hash, err := password.HashWithParams(pw, s.cfg.PasswordParams)
	if err == nil {
		err = store.SetUserPassword(ctx, s.cfg.Store.DB, id, hash, s.cfg.Now())
	}
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "could not upgrade a password hash", "user_id", id, "error", err)
	}
}

// Refresh trades a refresh token for a new session in the same family and
// retires the token. Presenting a retired token again revokes the whole
// family: the legitimate holder and the thief both have to log in again.
//
// It returns a 401 INVALID_REFRESH_TOKEN *Error for an unknown, expired or
// revoked token, or one whose account is disabled, and a 401
// REFRESH_TOKEN_REUSED *Error for reuse.
func (s *Sessions) Refresh(ctx context.Context, refreshToken string) (Session, error) {
	if !strings.HasPrefix(refreshToken, authtoken.RefreshTokenPrefix) {
		return Session{}, errInvalidRefresh
	}
	var (
		sess    issuedSession
		refusal error // decided inside, returned after the commit
	)
	err := s.cfg.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := s.cfg.Now()
		old, err := store.FindRefreshTokenForUpdate(ctx, tx, authtoken.HashRefreshToken(refreshToken))
		switch {
		case errors.Is(err, store.ErrNotFound):
			refusal = errInvalidRefresh
			return nil
		case err != nil:
			return err
		case old.RevokedAt != nil, !now.Before(old.ExpiresAt):
			refusal = errInvalidRefresh
			return nil
		case old.UsedAt != nil:
			refusal = errRefreshReused
			n, err := store.RevokeRefreshFamily(ctx, tx, old.FamilyID, store.RevokedReuse, now)
			s.cfg.Logger.WarnContext(ctx, "refresh token reused; session family revoked",
				"user_id", old.UserID, "family_id", old.FamilyID, "revoked", n)
			return err
		}
		// A revocation racing an earlier rotation can miss the token that
		// rotation inserted: a family with any revoked token is revoked.
		reason, err := store.RefreshFamilyRevokedReason(ctx, tx, old.FamilyID)
		if err != nil {
			return err
		}
		if reason != "" {
			refusal = errInvalidRefresh
			_, err = store.RevokeRefreshFamily(ctx, tx, old.FamilyID, reason, now)
			return err
		}
		p, err := store.GetPrincipal(ctx, tx, old.UserID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !p.Active) {
			refusal = errInvalidRefresh
			_, err = store.RevokeRefreshFamily(ctx, tx, old.FamilyID, store.RevokedUserDisabled, now)
			return err
		}
		if err != nil {
			return err
		}
		if sess, err = s.issue(ctx, tx, p, authtoken.TokenType(old.TokenType), old.FamilyID); err != nil {
			return err
		}
		return store.MarkRefreshTokenUsed(ctx, tx, old.ID, sess.refreshID, now)
	})
	if err != nil {
		return Session{}, fmt.Errorf("refresh: %w", err)
	}
	if refusal != nil {
		return Session{}, refusal
	}
	return sess.Session, nil
}

// Logout revokes the session family of refreshToken. An unknown, used or
// revoked token is not an error: logging out twice is harmless, and the
// answer must not tell a guesser whether a token exists.
func (s *Sessions) Logout(ctx context.Context, refreshToken string) error {
	if !strings.HasPrefix(refreshToken, authtoken.RefreshTokenPrefix) {
		return nil
	}
	return s.cfg.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t, err := store.FindRefreshTokenForUpdate(ctx, tx, authtoken.HashRefreshToken(refreshToken))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("logout: %w", err)
		}
		_, err = store.RevokeRefreshFamily(ctx, tx, t.FamilyID, store.RevokedLogout, s.cfg.Now())
		return err
	})
}

// Authenticate verifies an access token of type want and returns its
// principal as the database has it now. It returns a 401 INVALID_TOKEN
// *Error for a malformed, forged, expired or wrong-type token and for an
// account that is disabled or gone.
func (s *Sessions) Authenticate(ctx context.Context, token string, want authtoken.TokenType) (Principal, error) {
	claims, err := s.cfg.Tokens.Parse(token, want)
	if errors.Is(err, authtoken.ErrInvalidToken) {
		return Principal{}, errInvalidToken.WithErr(err)
	}
	if err != nil {
		return Principal{}, err
	}
	id, err := uuid.Parse(claims.Subject)
	if err != nil {
		return Principal{}, errInvalidToken.WithErr(err)
	}
	p, err := store.GetPrincipal(ctx, s.cfg.Store.DB, id)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, errInvalidToken.WithErr(err)
	}
	if err != nil {
		return Principal{}, err
	}
	if !p.Active {
		return Principal{}, errInvalidToken.WithErr(errors.New("account disabled"))
	}
	out := principalFrom(p)
	out.TokenType, out.TokenID = claims.Type, claims.ID
	return out, nil
}

// issuedSession is a Session plus the stored ID of its refresh token.
type issuedSession struct {
	Session
	refreshID uuid.UUID
}

// issue stores a new refresh token in family (a new family when Nil) and
// signs an access token of typ for p.
func (s *Sessions) issue(ctx context.Context, tx bun.IDB, p *store.Principal, typ authtoken.TokenType, family uuid.UUID) (issuedSession, error) {
	if family == uuid.Nil {
		var err error
		if family, err = uuid.NewV7(); err != nil {
			return issuedSession{}, err
		}
	}
	plain, hash := authtoken.NewRefreshToken()
	row := &store.RefreshToken{
		UserID: p.UserID, FamilyID: family, TokenHash: hash, TokenType: string(typ),
		ExpiresAt: s.cfg.Now().Add(s.cfg.RefreshTTL),
	}
	if err := store.InsertRefreshToken(ctx, tx, row); err != nil {
		return issuedSession{}, err
	}
	access, claims, err := s.cfg.Tokens.IssueAccess(p.UserID.String(), p.Roles, typ)
	if err != nil {
		return issuedSession{}, err
	}
	return issuedSession{
		Session: Session{
			AccessToken: access, AccessExpiresAt: claims.ExpiresAt, TokenType: typ,
			RefreshToken: plain, RefreshExpiresAt: row.ExpiresAt, User: principalFrom(p),
		},
		refreshID: row.ID,
	}, nil
}

// withRedis runs fn with the Redis deadline and logs its failure as what.
func (s *Sessions) withRedis(ctx context.Context, fn func(context.Context) error, what string) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RedisTimeout)
	defer cancel()
	if err := fn(rctx); err != nil {
		s.cfg.Logger.WarnContext(ctx, "could not "+what, "error", err)
	}
}

func principalFrom(p *store.Principal) Principal {
	return Principal{UserID: p.UserID, Email: p.Email, Roles: p.Roles, Permissions: p.Permissions}
}

// accountKey names an account in Redis without writing its email there.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(email))
	return "login-account:" + hex.EncodeToString(sum[:16])
}
