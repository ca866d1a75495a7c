package authtoken_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/authtoken"
)

var (
	secret1 = []byte("0123456789abcdef0123456789abcdef")
	secret2 = []byte("fedcba9876543210fedcba9876543210")
	t0      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

type bundle struct {
	issuer *authtoken.Issuer
	now    time.Time // what issuer.Now returns; tests move it
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{now: t0}
	b.issuer = &authtoken.Issuer{
		Keys:   []authtoken.Key{{ID: "k1", Secret: secret1}},
		Issuer: "rd-test",
		Now:    func() time.Time { return b.now },
	}
	return b
}

// sign makes a token with arbitrary header and claims, for the cases
// IssueAccess would never produce.
func sign(t *testing.T, method jwt.SigningMethod, kid string, claims jwt.MapClaims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub": "user-1", "jti": "id-1", "typ": "access", "iss": "rd-test",
		"iat": t0.Unix(), "exp": t0.Add(time.Minute).Unix(),
	}
}

func TestIssueAndParseRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.now = t0.Add(500 * time.Millisecond) // sub-second part is dropped

	tok, issued, err := b.issuer.IssueAccess("user-1", []string{"admin", "qa"}, authtoken.TypeAccess)
	require.NoError(t, err)
	require.Equal(t, "user-1", issued.Subject)
	require.Equal(t, []string{"admin", "qa"}, issued.Roles)
	require.Equal(t, authtoken.TypeAccess, issued.Type)
	require.Equal(t, "rd-test", issued.Issuer)
	require.Equal(t, t0, issued.IssuedAt)
	require.Equal(t, t0.Add(15*time.Minute), issued.ExpiresAt, "AccessTTL defaults to 15m")
	id, err := uuid.Parse(issued.ID)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(7), id.Version())

	parsed, err := b.issuer.Parse(tok, authtoken.TypeAccess)
	require.NoError(t, err)
	require.Equal(t, issued, parsed)

	header, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(header)
	require.NoError(t, err)
	require.JSONEq(t, `{"alg":"HS256","kid":"k1","typ":"JWT"}`, string(raw))
}

func TestIssueAccessUniqueIDsAndCustomTTL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.issuer.AccessTTL = time.Hour

	_, c1, err := b.issuer.IssueAccess("u", nil, authtoken.TypeAccess)
	require.NoError(t, err)
	_, c2, err := b.issuer.IssueAccess("u", nil, authtoken.TypeAccess)
	require.NoError(t, err)
	require.NotEqual(t, c1.ID, c2.ID)
	require.Equal(t, t0.Add(time.Hour), c1.ExpiresAt)
}

func TestParseRefusesWrongType(t *testing.T) {
	t.Parallel()
	b := setup(t)

	ext, _, err := b.issuer.IssueAccess("user-1", nil, authtoken.TypeExtension)
	require.NoError(t, err)
	acc, _, err := b.issuer.IssueAccess("user-1", nil, authtoken.TypeAccess)
	require.NoError(t, err)

	c, err := b.issuer.Parse(ext, authtoken.TypeExtension)
	require.NoError(t, err)
	require.Equal(t, authtoken.TypeExtension, c.Type)

	_, err = b.issuer.Parse(ext, authtoken.TypeAccess)
	require.ErrorIs(t, err, authtoken.ErrWrongType)
	_, err = b.issuer.Parse(acc, authtoken.TypeExtension)
	require.ErrorIs(t, err, authtoken.ErrWrongType)
}

func TestParseRefusesExpired(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok, _, err := b.issuer.IssueAccess("user-1", nil, authtoken.TypeAccess)
	require.NoError(t, err)

	b.now = t0.Add(15*time.Minute - time.Second)
	_, err = b.issuer.Parse(tok, authtoken.TypeAccess)
	require.NoError(t, err)

	b.now = t0.Add(15 * time.Minute)
	_, err = b.issuer.Parse(tok, authtoken.TypeAccess)
	require.ErrorIs(t, err, authtoken.ErrExpired)
}

func TestParseRefusesWrongIssuer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := *b.issuer
	other.Issuer = "someone-else"
	tok, _, err := other.IssueAccess("user-1", nil, authtoken.TypeAccess)
	require.NoError(t, err)

	_, err = b.issuer.Parse(tok, authtoken.TypeAccess)
	require.ErrorIs(t, err, authtoken.ErrIssuer)
}

func TestParseRefusesBadSignature(t *testing.T) {
	t.Parallel()
	b := setup(t)

	forged := sign(t, jwt.SigningMethodHS256, "k1", validClaims(), secret2)
	_, err := b.issuer.Parse(forged, authtoken.TypeAccess)
	require.ErrorIs(t, err, authtoken.ErrSignature)

	// Swap in a payload granting more roles, keeping the original signature.
	tok, _, err := b.issuer.IssueAccess("user-1", []string{"qa"}, authtoken.TypeAccess)
	require.NoError(t, err)
	parts := strings.Split(tok, ".")
	c := validClaims()
	c["roles"] = []string{"admin"}
	parts[1] = strings.Split(sign(t, jwt.SigningMethodHS256, "k1", c, secret2), ".")[1]
	_, err = b.issuer.Parse(strings.Join(parts, "."), authtoken.TypeAccess)
	require.ErrorIs(t, err, authtoken.ErrSignature)
}

func TestParseRefusesOtherAlgorithms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	cases := map[string]string{
		"none":  sign(t, jwt.SigningMethodNone, "k1", validClaims(), jwt.UnsafeAllowNoneSignatureType),
		"HS512": sign(t, jwt.SigningMethodHS512, "k1", validClaims(), secret1),
		"RS256": sign(t, jwt.SigningMethodRS256, "k1", validClaims(), rsaKey),
		// An RS256 header over an HMAC made with our secret: a verifier that
		// trusted the header's alg family could be confused.
		"RS256 header, HMAC body": hmacWithHeader(t, `{"alg":"RS256","kid":"k1","typ":"JWT"}`),
		"unknown alg":             hmacWithHeader(t, `{"alg":"XY99","kid":"k1","typ":"JWT"}`),
		"no alg":                  hmacWithHeader(t, `{"kid":"k1","typ":"JWT"}`),
	}
	for name, tok := range cases {
		_, err := b.issuer.Parse(tok, authtoken.TypeAccess)
		require.ErrorIs(t, err, authtoken.ErrAlgorithm, name)
	}
}

// hmacWithHeader returns a token with the given raw header, validClaims,
// and an HS256 signature by secret1 over both.
func hmacWithHeader(t *testing.T, header string) string {
	t.Helper()
	valid := sign(t, jwt.SigningMethodHS256, "k1", validClaims(), secret1)
	payload := strings.Split(valid, ".")[1]
	signing := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + payload
	sig, err := jwt.SigningMethodHS256.Sign(signing, secret1)
	require.NoError(t, err)
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestParseRefusesUnknownKey(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for name, kid := range map[string]string{"missing kid": "", "unknown kid": "k9"} {
		tok := sign(t, jwt.SigningMethodHS256, kid, validClaims(), secret1)
		_, err := b.issuer.Parse(tok, authtoken.TypeAccess)
		require.ErrorIs(t, err, authtoken.ErrUnknownKey, name)
	}
}

func TestParseRefusesMissingClaims(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for _, claim := range []string{"sub", "jti", "iat", "exp"} {
		c := validClaims()
		delete(c, claim)
		tok := sign(t, jwt.SigningMethodHS256, "k1", c, secret1)
		_, err := b.issuer.Parse(tok, authtoken.TypeAccess)
		require.ErrorIs(t, err, authtoken.ErrClaims, claim)
	}
	// Sanity check that the helper's claims are otherwise accepted.
	_, err := b.issuer.Parse(sign(t, jwt.SigningMethodHS256, "k1", validClaims(), secret1), authtoken.TypeAccess)
	require.NoError(t, err)
}

func TestParseRefusesMalformed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	valid, _, err := b.issuer.IssueAccess("user-1", nil, authtoken.TypeAccess)
	require.NoError(t, err)

	for name, tok := range map[string]string{
		"empty":          "",
		"one segment":    "abc",
		"four segments":  valid + ".x",
		"bad base64":     "!!." + strings.SplitN(valid, ".", 2)[1],
		"header not obj": base64.RawURLEncoding.EncodeToString([]byte(`[1]`)) + "." + strings.SplitN(valid, ".", 2)[1],
		"padded":         strings.Replace(valid, ".", "==.", 1),
		"too long":       valid + strings.Repeat("A", 9000),
	} {
		_, err := b.issuer.Parse(tok, authtoken.TypeAccess)
		require.ErrorIs(t, err, authtoken.ErrMalformed, name)
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	oldTok, _, err := b.issuer.IssueAccess("user-1", nil, authtoken.TypeAccess)
	require.NoError(t, err)

	// Rotate: the new key signs, the old one still verifies.
	b.issuer.Keys = []authtoken.Key{{ID: "k2", Secret: secret2}, {ID: "k1", Secret: secret1}}
	newTok, _, err := b.issuer.IssueAccess("user-1", nil, authtoken.TypeAccess)
	require.NoError(t, err)
	for _, tok := range []string{oldTok, newTok} {
		_, err = b.issuer.Parse(tok, authtoken.TypeAccess)
		require.NoError(t, err)
	}

	// Retire the old key.
	b.issuer.Keys = b.issuer.Keys[:1]
	_, err = b.issuer.Parse(oldTok, authtoken.TypeAccess)
	require.ErrorIs(t, err, authtoken.ErrUnknownKey)
	_, err = b.issuer.Parse(newTok, authtoken.TypeAccess)
	require.NoError(t, err)
}

func TestRefusalsMatchErrInvalidToken(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		authtoken.ErrMalformed, authtoken.ErrAlgorithm, authtoken.ErrUnknownKey, authtoken.ErrSignature,
		authtoken.ErrExpired, authtoken.ErrIssuer, authtoken.ErrWrongType, authtoken.ErrClaims,
	} {
		require.ErrorIs(t, err, authtoken.ErrInvalidToken)
	}
}

func TestConfigurationErrors(t *testing.T) {
	t.Parallel()
	good := func() authtoken.Issuer {
		return authtoken.Issuer{Keys: []authtoken.Key{{ID: "k1", Secret: secret1}}, Issuer: "rd"}
	}
	require.NoError(t, (&authtoken.Issuer{Keys: good().Keys, Issuer: "rd"}).Validate())

	for name, mutate := range map[string]func(*authtoken.Issuer){
		"no keys":      func(i *authtoken.Issuer) { i.Keys = nil },
		"empty kid":    func(i *authtoken.Issuer) { i.Keys[0].ID = "" },
		"short secret": func(i *authtoken.Issuer) { i.Keys[0].Secret = secret1[:31] },
		"duplicate":    func(i *authtoken.Issuer) { i.Keys = append(i.Keys, authtoken.Key{ID: "k1", Secret: secret2}) },
		"no issuer":    func(i *authtoken.Issuer) { i.Issuer = "" },
		"negative ttl": func(i *authtoken.Issuer) { i.AccessTTL = -time.Second },
	} {
		i := good()
		mutate(&i)
		require.Error(t, i.Validate(), name)
		_, _, err := i.IssueAccess("u", nil, authtoken.TypeAccess)
		require.Error(t, err, name)
		_, err = i.Parse("x.y.z", authtoken.TypeAccess)
		require.Error(t, err, name)
		require.NotErrorIs(t, err, authtoken.ErrInvalidToken, name)
	}

	i := good()
	_, _, err := i.IssueAccess("", nil, authtoken.TypeAccess)
	require.Error(t, err, "empty user")
	_, _, err = i.IssueAccess("u", nil, "refresh")
	require.Error(t, err, "unknown type")
	_, err = i.Parse("x.y.z", "refresh")
	require.Error(t, err)
	require.NotErrorIs(t, err, authtoken.ErrInvalidToken)
}

func TestRefreshToken(t *testing.T) {
	t.Parallel()

	seen := map[string]bool{}
	for range 100 {
		plain, hash := authtoken.NewRefreshToken()
		require.True(t, strings.HasPrefix(plain, authtoken.RefreshTokenPrefix), plain)
		require.Len(t, plain, len(authtoken.RefreshTokenPrefix)+43)
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(plain, authtoken.RefreshTokenPrefix))
		require.NoError(t, err)
		require.Len(t, raw, 32)
		require.Len(t, hash, 32)
		require.Equal(t, hash, authtoken.HashRefreshToken(plain))
		require.False(t, seen[plain])
		seen[plain] = true
	}
	// A fixed vector: the hash is SHA-256 of the whole string, prefix included.
	require.Equal(t,
		"1bcbe4b715a58441277f56137dc2b33b18671d55ddf37d076a27fc27f59c720c", // printf rdr_x | sha256sum
		hex.EncodeToString(authtoken.HashRefreshToken("rdr_x")))
}
