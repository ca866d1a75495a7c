package authtoken

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// RefreshTokenPrefix starts every refresh token, so a leaked one is
// recognisable (by people and by secret scanners) for what it is.
const RefreshTokenPrefix = "rdr_"

// NewRefreshToken returns a new refresh token and its hash: 256 random bits,
// base64url without padding, after RefreshTokenPrefix (47 characters in
// all). Give plain to the client once; store only hash.
func NewRefreshToken() (plain string, hash []byte) {
	b := make([]byte, 32)
	// crypto/rand.Read never fails (Go 1.24+ crashes the program instead).
	_, _ = rand.Read(b)
	plain = RefreshTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return plain, HashRefreshToken(plain)
}

// HashRefreshToken returns the SHA-256 of plain, the value stored and looked
// up. A fast unsalted hash is enough because the token is 256 random bits
// (nothing to brute-force), and it lets the store find a token by an
// indexed equality on the hash; that lookup needs no constant-time compare,
// since learning a hash prefix by timing does not help forge a preimage.
func HashRefreshToken(plain string) []byte {
	sum := sha256.Sum256([]byte(plain))
	return sum[:]
}
