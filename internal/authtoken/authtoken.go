// Package authtoken issues and verifies ReviewData's session credentials:
// short-lived access JWTs (HS256) and opaque refresh tokens. API keys for
// integrators live in the sibling package apikey.
//
// Access tokens are stateless, so Parse only proves that a token is ours,
// unexpired and of the wanted type. Revocation is the caller's job: the auth
// middleware must still check that Claims.Subject names an enabled user on
// every request (so disabling a user takes effect at once), and refresh
// tokens, their rotation and their families are stored by the session
// service, hashed with HashRefreshToken.
package authtoken

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// TokenType says which routes accept a token; it travels in the "typ" claim.
type TokenType string

const (
	// TypeAccess is the admin/QA console's session token.
	TypeAccess TokenType = "access"
	// TypeExtension is the browser extension's token, accepted only on
	// extension routes.
	TypeExtension TokenType = "extension"
)

func (t TokenType) valid() bool {
	return t == TypeAccess || t == TypeExtension
}

// DefaultAccessTTL is the lifetime of tokens when Issuer.AccessTTL is zero.
const DefaultAccessTTL = 15 * time.Minute

// MinSecretLen is the shortest accepted HMAC secret: RFC 7518 §3.2 requires
// an HS256 key at least as long as the hash output.
const MinSecretLen = 32

// maxTokenLen bounds the work done on hostile input before any signature
// check; our tokens are a few hundred bytes.
const maxTokenLen = 8 << 10

// Key is one HMAC secret, named by the JWT "kid" header.
type Key struct {
	// ID goes into the "kid" header of tokens signed with Secret. Required;
	// unique within Issuer.Keys.
	ID string
	// Secret is the HMAC-SHA256 key, at least MinSecretLen random bytes.
	Secret []byte
}

// Issuer issues and parses tokens. Its zero value is not usable: Keys and
// Issuer are required. An Issuer is safe for concurrent use as long as its
// fields are not modified.
type Issuer struct {
	// Keys verify tokens; the first one also signs new tokens. To rotate,
	// put a new key first and keep the old one until every token it signed
	// has expired (AccessTTL), then drop it.
	Keys []Key
	// Issuer is the "iss" claim written and required, e.g. "rd-api".
	Issuer string
	// AccessTTL is how long a token stays valid. Defaults to 15m.
	AccessTTL time.Duration
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// Claims are what a token says. Times have whole-second precision, as JWT
// NumericDate does.
type Claims struct {
	// Subject is the user ID ("sub").
	Subject string
	// Roles are the user's roles when the token was issued ("roles").
	Roles []string
	// Type is the token type ("typ").
	Type TokenType
	// ID is a UUIDv7 unique to this token ("jti"), for logs and deny-lists.
	ID string
	// Issuer is "iss".
	Issuer string
	// IssuedAt is "iat", in UTC.
	IssuedAt time.Time
	// ExpiresAt is "exp", in UTC.
	ExpiresAt time.Time
}

// wireClaims is the JWT payload.
type wireClaims struct {
	jwt.RegisteredClaims
	Roles []string  `json:"roles"`
	Type  TokenType `json:"typ"`
}

// Validate reports a configuration error, phrased to say how to fix it: no
// keys, an empty or duplicate key ID, a secret shorter than MinSecretLen,
// an empty Issuer or a negative AccessTTL. Call it at start-up; IssueAccess
// and Parse return the same error.
func (i *Issuer) Validate() error {
	if len(i.Keys) == 0 {
		return errors.New("authtoken: no Keys; configure at least one signing key")
	}
	seen := map[string]bool{}
	for n, k := range i.Keys {
		switch {
		case k.ID == "":
			return fmt.Errorf("authtoken: Keys[%d] has no ID; give every key a unique kid", n)
		case seen[k.ID]:
			return fmt.Errorf("authtoken: key ID %q appears twice; key IDs must be unique", k.ID)
		case len(k.Secret) < MinSecretLen:
			return fmt.Errorf("authtoken: key %q secret is %d bytes; use at least %d random bytes", k.ID, len(k.Secret), MinSecretLen)
		}
		seen[k.ID] = true
	}
	if i.Issuer == "" {
		return errors.New("authtoken: Issuer is empty; set it to the service name, e.g. \"rd-api\"")
	}
	if i.AccessTTL < 0 {
		return fmt.Errorf("authtoken: AccessTTL %v is negative", i.AccessTTL)
	}
	return nil
}

func (i *Issuer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

func (i *Issuer) ttl() time.Duration {
	if i.AccessTTL == 0 {
		return DefaultAccessTTL
	}
	return i.AccessTTL
}

// IssueAccess signs a token of type typ for userID with roles, valid for
// AccessTTL from now, with the first key. It returns the token and its
// claims (exactly what Parse will return for it).
//
// It returns an error if the Issuer is misconfigured (see Validate), userID
// is empty or typ is not TypeAccess or TypeExtension.
func (i *Issuer) IssueAccess(userID string, roles []string, typ TokenType) (string, Claims, error) {
	if err := i.Validate(); err != nil {
		return "", Claims{}, err
	}
	if userID == "" {
		return "", Claims{}, errors.New("authtoken: empty userID")
	}
	if !typ.valid() {
		return "", Claims{}, fmt.Errorf("authtoken: unknown token type %q", typ)
	}
	jti, err := uuid.NewV7()
	if err != nil {
		return "", Claims{}, fmt.Errorf("authtoken: generate jti: %w", err)
	}
	// Truncate so the returned claims equal what the token can carry.
	now := i.now().UTC().Truncate(time.Second)
	c := Claims{
		Subject: userID, Roles: slices.Clone(roles), Type: typ, ID: jti.String(),
		Issuer: i.Issuer, IssuedAt: now, ExpiresAt: now.Add(i.ttl()),
	}
	token, err := i.sign(c)
	if err != nil {
		return "", Claims{}, err
	}
	return token, c, nil
}

func (i *Issuer) sign(c Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: c.Subject, ID: c.ID, Issuer: c.Issuer,
			IssuedAt: jwt.NewNumericDate(c.IssuedAt), ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
		},
		Roles: c.Roles,
		Type:  c.Type,
	})
	key := i.Keys[0]
	t.Header["kid"] = key.ID
	s, err := t.SignedString(key.Secret)
	if err != nil {
		return "", fmt.Errorf("authtoken: sign: %w", err)
	}
	return s, nil
}
