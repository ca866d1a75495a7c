package authtoken

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is matched (errors.Is) by every error Parse returns for a
// token it refuses; the more specific errors below all wrap it. Callers
// answer 401 for all of them and may log the specific one. The messages never
// contain the token.
var ErrInvalidToken = errors.New("authtoken: invalid token")

// Reasons Parse refuses a token. Each matches ErrInvalidToken too.
var (
	// ErrMalformed: not three base64url segments of JSON, or too long.
	ErrMalformed = fmt.Errorf("%w: malformed", ErrInvalidToken)
	// ErrAlgorithm: the "alg" header is not HS256 (none, RS256, HS512, …).
	ErrAlgorithm = fmt.Errorf("%w: algorithm not allowed", ErrInvalidToken)
	// ErrUnknownKey: the "kid" header is missing or names no key in Keys.
	ErrUnknownKey = fmt.Errorf("%w: unknown key", ErrInvalidToken)
	// ErrSignature: the signature does not match.
	ErrSignature = fmt.Errorf("%w: bad signature", ErrInvalidToken)
	// ErrExpired: "exp" is not after now.
	ErrExpired = fmt.Errorf("%w: expired", ErrInvalidToken)
	// ErrIssuer: "iss" is not Issuer.Issuer.
	ErrIssuer = fmt.Errorf("%w: wrong issuer", ErrInvalidToken)
	// ErrWrongType: "typ" is not the type the route wants.
	ErrWrongType = fmt.Errorf("%w: wrong token type", ErrInvalidToken)
	// ErrClaims: a required claim (sub, jti, iat, exp) is missing or invalid.
	ErrClaims = fmt.Errorf("%w: invalid claims", ErrInvalidToken)
)

// Parse verifies token and returns its claims if it is an HS256 token signed
// by one of Keys, issued by Issuer, unexpired, and of type wantType.
//
// It returns one of the errors above (all matching ErrInvalidToken) when it
// refuses the token, or a configuration error (see Validate, and a wantType
// that is not a known type) that does not match ErrInvalidToken.
func (i *Issuer) Parse(token string, wantType TokenType) (Claims, error) {
	if err := i.Validate(); err != nil {
		return Claims{}, err
	}
	if !wantType.valid() {
		return Claims{}, fmt.Errorf("authtoken: unknown token type %q", wantType)
	}
	if len(token) > maxTokenLen {
		return Claims{}, ErrMalformed
	}
	var wc wireClaims
	_, err := jwt.NewParser(
		jwt.WithIssuer(i.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(i.now),
		jwt.WithStrictDecoding(),
	).ParseWithClaims(token, &wc, i.verificationKey)
	if err != nil {
		return Claims{}, classify(err)
	}
	c, err := claimsFrom(wc)
	if err != nil {
		return Claims{}, err
	}
	if c.Type != wantType {
		return Claims{}, fmt.Errorf("%w (got %q, want %q)", ErrWrongType, c.Type, wantType)
	}
	return c, nil
}

// verificationKey is the jwt.Keyfunc. It pins the algorithm itself rather
// than trusting the header: a token claiming alg "none" or RS256 never gets
// a key, which rules out the classic none and RS/HS confusion attacks.
func (i *Issuer) verificationKey(t *jwt.Token) (any, error) {
	if t.Method.Alg() != jwt.SigningMethodHS256.Alg() {
		return nil, ErrAlgorithm
	}
	kid, _ := t.Header["kid"].(string)
	for _, k := range i.Keys {
		// Key IDs are not secret; constant time only to avoid a needless
		// timing signal.
		if subtle.ConstantTimeCompare([]byte(k.ID), []byte(kid)) == 1 {
			return k.Secret, nil
		}
	}
	return nil, ErrUnknownKey
}

// classify maps the jwt library's errors onto ours. Only our sentinel is
// wrapped (%w); the library's text is kept for logs but not matchable, so
// callers do not come to depend on the library.
func classify(err error) error {
	var reason error
	switch {
	case errors.Is(err, ErrAlgorithm):
		reason = ErrAlgorithm
	case errors.Is(err, ErrUnknownKey):
		reason = ErrUnknownKey
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason = ErrMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// The only remaining cause is an alg the library does not know.
		reason = ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = ErrSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = ErrExpired
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason = ErrIssuer
	default:
		reason = ErrClaims
	}
	return fmt.Errorf("%w (%v)", reason, err)
}

func claimsFrom(wc wireClaims) (Claims, error) {
	if wc.Subject == "" || wc.ID == "" || wc.IssuedAt == nil || wc.ExpiresAt == nil {
		return Claims{}, fmt.Errorf("%w (missing sub, jti, iat or exp)", ErrClaims)
	}
	return Claims{
		Subject:   wc.Subject,
		Roles:     wc.Roles,
		Type:      wc.Type,
		ID:        wc.ID,
		Issuer:    wc.Issuer,
		IssuedAt:  wc.IssuedAt.UTC(),
		ExpiresAt: wc.ExpiresAt.UTC(),
	}, nil
}
