// Package password hashes and verifies account passwords with Argon2id
// (RFC 9106) and generates random passwords for bootstrapped accounts.
//
// Hashes are stored as PHC strings that carry their own parameters and salt:
//
//	$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>
//
// so DefaultParams can be raised later without breaking stored hashes: Verify
// reads the parameters from the stored string and reports needsRehash when
// they differ from the current ones, and the caller re-hashes the password it
// has just verified and stores the new string.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Params are the Argon2id cost parameters and output sizes.
type Params struct {
	// Memory is the memory cost in KiB. Each Hash or Verify allocates this
	// much for its duration, so the login path must bound how many run at
	// once (rate limits plus a semaphore in the service).
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (lanes). It is part of the hash:
	// verifying with another value gives another result.
	Threads uint8
	// SaltLen is the length in bytes of the random salt.
	SaltLen uint32
	// KeyLen is the length in bytes of the derived hash.
	KeyLen uint32
}

// DefaultParams are the parameters Hash uses: 64 MiB, 3 passes, 2 lanes, a
// 16-byte salt and a 32-byte hash.
//
// This is above the OWASP Password Storage Cheat Sheet minimum for Argon2id
// (19 MiB, t=2, p=1) and close to RFC 9106's second recommended option
// (64 MiB, t=3, p=4); p=2 rather than 4 because API containers get about two
// CPUs, and lanes beyond the available cores add no attacker cost, only
// latency. Expect roughly 50-100 ms per hash on one modern core.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

// Bounds for parameters, both when hashing and when parsing a stored string:
// a tampered string must not make Verify allocate gigabytes or spin for
// minutes, and too-small values would make a hash that is cheap to crack.
const (
	maxMemory  = 1 << 20 // KiB, 1 GiB
	maxTime    = 64
	minSaltLen = 8 // RFC 9106 minimum; 16 recommended
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// ErrMalformedHash is matched (errors.Is) by every error Verify returns for a
// stored string it cannot use: not Argon2id, another version, parameters out
// of bounds, bad base64 and so on. Use errors.As with *MalformedHashError for
// the reason.
var ErrMalformedHash = errors.New("password: malformed hash")

// MalformedHashError is the error Verify returns for a stored string it
// cannot parse. Reason never contains the password.
type MalformedHashError struct {
	Reason string
}

// Error implements error.
func (e *MalformedHashError) Error() string {
	return "password: malformed hash: " + e.Reason
}

// Is makes errors.Is(err, ErrMalformedHash) true for every MalformedHashError.
func (e *MalformedHashError) Is(target error) bool {
	return target == ErrMalformedHash
}

func malformed(format string, args ...any) error {
	return &MalformedHashError{Reason: fmt.Sprintf(format, args...)}
}

// Validate reports whether p is usable: Memory at least 8 KiB per thread
// (the Argon2 minimum) and at most 1 GiB, Time 1..64, Threads at least 1,
// SaltLen 8..64 and KeyLen 16..64 bytes.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("password: Threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("password: Memory must be between 8*Threads and %d KiB, got %d", maxMemory, p.Memory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("password: Time must be between 1 and %d, got %d", maxTime, p.Time)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("password: SaltLen must be between %d and %d, got %d", minSaltLen, maxSaltLen, p.SaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: KeyLen must be between %d and %d, got %d", minKeyLen, maxKeyLen, p.KeyLen)
	}
	return nil
}

// Hash returns the PHC string for password with DefaultParams and a fresh
// random salt. It returns an error only if DefaultParams has been set to
// invalid values.
func Hash(password string) (string, error) {
	return HashWithParams(password, DefaultParams)
}

// HashWithParams is Hash with explicit parameters (tests use cheap ones). It
// returns an error if p is invalid (see Params.Validate).
func HashWithParams(password string, p Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	// crypto/rand.Read never fails (Go 1.24+ crashes the program instead).
	_, _ = rand.Read(salt)
	return hashWithSalt(password, salt, p), nil
}

// hashWithSalt derives and encodes the hash; split out so tests can pin a
// known answer with a fixed salt.
func hashWithSalt(password string, salt []byte, p Params) string {
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encode(p, salt, key)
}

// Verify reports whether password matches encoded, a string made by Hash.
// The hash comparison is constant-time. needsRehash is true when the
// password matched but encoded was made with parameters other than
// DefaultParams; the caller should then store Hash(password).
//
// It returns an error matching ErrMalformedHash (and ok=false) if encoded
// cannot be parsed; a wrong password is ok=false with a nil error.
func Verify(password, encoded string) (ok, needsRehash bool, err error) {
	return VerifyWithParams(password, encoded, DefaultParams)
}

// VerifyWithParams is Verify with current as the parameters new hashes
// should use: needsRehash reports a difference from current instead of from
// DefaultParams. The hash itself is always checked with the parameters stored
// in encoded.
func VerifyWithParams(password, encoded string, current Params) (ok, needsRehash bool, err error) {
	stored, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, stored.Time, stored.Memory, stored.Threads, stored.KeyLen)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, stored != current, nil
}

// Generate returns a random password for a bootstrapped account: 26
// characters of base32 (A-Z, 2-7) carrying 130 bits of entropy, printable
// and unambiguous enough to read out or paste.
func Generate() string {
	return rand.Text()
}
