// Package apikey makes and checks integrators' API keys. It sits under
// authtoken because it is the same kind of thing (a bearer credential the
// API verifies), but it has no dependency on JWTs.
//
// A key looks like
//
//	rd_live_<prefix>_<secret>   (or rd_test_…)
//
// where prefix is 16 and secret 52 lowercase base32 characters (80 and 256
// random bits). The key is shown to the integrator once; the store keeps only
// the prefix, which is not secret and identifies the key in lookups, logs
// and the console, and the SHA-256 of the whole key. Verifying a request:
// Parse the presented key, load the row by prefix, then Matches against the
// stored hash (constant time).
//
// SHA-256 rather than a password hash because the secret is 256 random bits:
// there is nothing to brute-force, and every integrator request pays for the
// check.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// Env says whether a key touches live data or a test sandbox. It is part of
// the key text, and so of its hash: a live key cannot be passed off as a test
// key or the reverse.
type Env string

const (
	// EnvLive keys start "rd_live_".
	EnvLive Env = "live"
	// EnvTest keys start "rd_test_".
	EnvTest Env = "test"
)

const (
	prefixBytes = 10 // 16 base32 characters; 80 bits keep lookups unique
	secretBytes = 32 // 52 base32 characters
	prefixLen   = 16
	secretLen   = 52
)

// ErrMalformed is returned by Parse for a string that is not an API key. Its
// text never contains the key.
var ErrMalformed = errors.New("apikey: malformed API key")

// enc is lowercase base32 without padding: no characters that need quoting
// in URLs or shells, none that break double-click selection, and no "_",
// which separates the parts.
var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Generate returns a new key for env: plain (show it once, never store it),
// its prefix (store, and show in the console) and hash (store).
//
// It returns an error only if env is not EnvLive or EnvTest.
func Generate(env Env) (plain, prefix string, hash []byte, err error) {
	if env != EnvLive && env != EnvTest {
		return "", "", nil, fmt.Errorf("apikey: unknown env %q; use %q or %q", env, EnvLive, EnvTest)
	}
	prefix = random(prefixBytes)
	plain = "rd_" + string(env) + "_" + prefix + "_" + random(secretBytes)
	return plain, prefix, Hash(plain), nil
}

func random(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never fails (Go 1.24+ crashes the program instead).
	_, _ = rand.Read(b)
	return enc.EncodeToString(b)
}

// Parse checks that plain has the shape of an API key and returns its
// prefix, for looking up the stored key. It does not authenticate: follow it
// with Matches. It returns ErrMalformed for anything else.
func Parse(plain string) (prefix string, err error) {
	parts := strings.Split(plain, "_")
	if len(parts) != 4 || parts[0] != "rd" || (Env(parts[1]) != EnvLive && Env(parts[1]) != EnvTest) {
		return "", ErrMalformed
	}
	if !isEncoded(parts[2], prefixLen) || !isEncoded(parts[3], secretLen) {
		return "", ErrMalformed
	}
	return parts[2], nil
}

func isEncoded(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// Hash returns the SHA-256 of plain, the value to store. Generate already
// returns it; Hash is for re-deriving it (tests, migrations).
func Hash(plain string) []byte {
	sum := sha256.Sum256([]byte(plain))
	return sum[:]
}

// Matches reports whether plain hashes to storedHash, comparing in constant
// time so response timing does not reveal how much of a guess was right.
func Matches(plain string, storedHash []byte) bool {
	return subtle.ConstantTimeCompare(Hash(plain), storedHash) == 1
}
