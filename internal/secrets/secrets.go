// Package secrets encrypts small secrets at rest (webhook signing secrets,
// publisher credentials, cookies, OAuth tokens) as Fernet tokens
// (https://github.com/fernet/spec: version 0x80, AES-128-CBC, HMAC-SHA256).
//
// A Keyring holds an ordered list of keys: the first encrypts, every key
// decrypts. Rotating means putting a new key first, re-encrypting the rows for
// which NeedsRotation reports true, then dropping the old key from the list.
// Tokens carry a timestamp but are never expired here: secrets at rest do not
// age out.
package secrets

import (
	"crypto/aes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/fernet/fernet-go"
)

// ErrInvalidToken is returned by Decrypt for any token that no key of the
// keyring opens: malformed, tampered with, or encrypted with a key that is no
// longer in the list. It deliberately does not say which check failed or which
// key was tried.
var ErrInvalidToken = errors.New("secrets: invalid or undecryptable token")

// howToFix ends every key-list error so an operator knows what to change.
const howToFix = "set SECRETS_KEYS to a comma-separated list of keys from `rd admin secrets-key generate` (current key first)"

// Fernet token layout (spec "Token Format"): version, 64-bit timestamp,
// 128-bit IV, ciphertext (whole AES blocks, at least one), 256-bit HMAC.
const (
	tokenVersion  = 0x80
	tokenOverhead = 1 + 8 + aes.BlockSize + sha256.Size
)

// Keyring encrypts with its first key and decrypts with any of its keys.
// Build one with ParseKeys; the zero Keyring has no keys and is not usable.
// A Keyring is immutable and safe for concurrent use.
type Keyring struct {
	keys []*fernet.Key // keys[0] is the current key
}

// ParseKeys builds a Keyring from a comma-separated list of URL-safe base64
// keys of 32 bytes each, the current key first. Spaces around entries are
// ignored. It returns an error, naming the position of the offending entry but
// never its value, if the list is empty, an entry is empty, or an entry is not
// a valid key.
func ParseKeys(list string) (*Keyring, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("secrets: no encryption keys: %s", howToFix)
	}
	entries := strings.Split(list, ",")
	keys := make([]*fernet.Key, 0, len(entries))
	for i, entry := range entries {
		key, err := parseKey(strings.TrimSpace(entry))
		if err != nil {
			return nil, fmt.Errorf("secrets: key %d of %d: %w: %s", i+1, len(entries), err, howToFix)
		}
		keys = append(keys, key)
	}
	return &Keyring{keys: keys}, nil
}

// parseKey decodes one key. Only URL-safe base64 is accepted (with or without
// padding), as the spec defines; the library's own decoder would also take hex
// and standard base64, which would let a mistyped key through unnoticed.
func parseKey(s string) (*fernet.Key, error) {
	if s == "" {
		return nil, errors.New("empty key")
	}
	raw, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, errors.New("not URL-safe base64")
	}
	var key fernet.Key
	if len(raw) != len(key) {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(raw), len(key))
	}
	copy(key[:], raw)
	return &key, nil
}

// GenerateKey returns a new random key in the form ParseKeys accepts.
func GenerateKey() string {
	var key fernet.Key
	// crypto/rand.Read never returns an error (it aborts the program if the
	// OS cannot supply randomness), so there is nothing to handle here.
	_, _ = rand.Read(key[:])
	return key.Encode()
}

// Encrypt seals plaintext with the current key and returns the Fernet token.
// It returns an error only if the system's random source fails.
func (k *Keyring) Encrypt(plaintext []byte) (string, error) {
	token, err := fernet.EncryptAndSign(plaintext, k.keys[0])
	if err != nil {
		return "", fmt.Errorf("secrets: encrypt: %w", err)
	}
	return string(token), nil
}

// Decrypt opens token with whichever key of the keyring sealed it. It returns
// ErrInvalidToken if the token is malformed, was altered, or was sealed by a
// key not in the keyring. Token age is not checked.
func (k *Keyring) Decrypt(token string) ([]byte, error) {
	plaintext := k.open(token, k.keys)
	if plaintext == nil {
		return nil, ErrInvalidToken
	}
	return plaintext, nil
}

// NeedsRotation reports whether token is not sealed by the current key, so a
// rotation sweep should decrypt and re-encrypt it. It also reports true for a
// token no key opens; Decrypt then returns ErrInvalidToken for it.
func (k *Keyring) NeedsRotation(token string) bool {
	return k.open(token, k.keys[:1]) == nil
}

// open returns the plaintext (non-nil, possibly empty) or nil if no key in
// keys opens token.
func (k *Keyring) open(token string, keys []*fernet.Key) []byte {
	if !wellFormed(token) {
		return nil
	}
	// TTL 0 disables the age check: secrets at rest do not expire.
	return fernet.VerifyAndDecrypt([]byte(token), 0, keys)
}

// wellFormed checks the token's encoding and shape before any key is tried.
// The library decodes leniently (it ignores trailing garbage after a valid
// prefix) and can index out of range on a correctly signed but truncated
// payload; checking strictly here keeps tokens canonical and Decrypt
// panic-free.
func wellFormed(token string) bool {
	// The Go decoder skips CR and LF even in strict mode; a stored token never
	// contains them.
	if strings.ContainsAny(token, "\r\n") {
		return false
	}
	raw, err := base64.URLEncoding.Strict().DecodeString(token)
	if err != nil {
		return false
	}
	n := len(raw) - tokenOverhead
	return len(raw) > 0 && raw[0] == tokenVersion && n >= aes.BlockSize && n%aes.BlockSize == 0
}
