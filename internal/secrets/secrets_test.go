package secrets_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/secrets"
)

// The vectors below are the Fernet spec's published test cases
// (github.com/fernet/spec, master: generate.json, verify.json, invalid.json),
// all sealed with this secret.
const specSecret = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="

// specGenerate is generate.json: "hello" sealed at 1985-10-26T01:20:00-07:00
// with IV 0x00..0x0f. verify.json holds the same token (checked one second
// later with a 60 s TTL).
var specGenerate = struct {
	token string
	now   time.Time
	iv    []byte
	src   string
}{
	token: "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==",
	now:   time.Date(1985, 10, 26, 1, 20, 0, 0, time.FixedZone("", -7*3600)),
	iv:    []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	src:   "hello",
}

// specInvalid is invalid.json. The two TTL cases are invalid only because of
// the token's age under a 60 s TTL; this package enforces no TTL, so they must
// decrypt (ttlOnly). The last three come from the spec's open pull request #11
// ("require strict base64 decoding"), which this package follows.
var specInvalid = []struct {
	desc    string
	token   string
	ttlOnly bool
}{
	{desc: "incorrect mac", token: "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykQUFBQUFBQUFBQQ=="},
	{desc: "too short", token: "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPA=="},
	{desc: "invalid base64", token: "%%%%%%%%%%%%%AECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykRtfsH-p1YsUD2Q=="},
	{desc: "payload size not multiple of block size", token: "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPOm73QeoCk9uGib28Xe5vz6oxq5nmxbx_v7mrfyudzUm"},
	{desc: "payload padding error", token: "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0ODz4LEpdELGQAad7aNEHbf-JkLPIpuiYRLQ3RtXatOYREu2FWke6CnJNYIbkuKNqOhw=="},
	{desc: "far-future TS (unacceptable clock skew)", token: "gAAAAAAdwStRAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAnja1xKYyhd-Y6mSkTOyTGJmw2Xc2a6kBd-iX9b_qXQcw==", ttlOnly: true},
	{desc: "expired TTL", token: "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykRtfsH-p1YsUD2Q==", ttlOnly: true},
	{desc: "incorrect IV (causes padding error)", token: "gAAAAAAdwJ6xBQECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAkLhFLHpGtDBRLRTZeUfWgHSv49TF2AUEZ1TIvcZjK1zQ=="},
	{desc: "trailing characters after b64 padding", token: "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==trailingdata"},
	{desc: "invalid characters in b64", token: "*gAAAAAAdwJ6wAAECAwQFBgcI!CQoLDA0ODy021?cpGVWKZ_eEwC@GM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=="},
	{desc: "invalid non-urlsafe characters in b64", token: "gAAAAAAdwJ6wAAEC/AwQFBgcICQoLDA0ODy+021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=="},
}

func mustKeyring(t *testing.T, list string) *secrets.Keyring {
	t.Helper()
	ring, err := secrets.ParseKeys(list)
	require.NoError(t, err)
	return ring
}

// specSeal builds a token exactly as the spec describes, with a caller-chosen
// IV and time. It is an independent oracle: it must reproduce generate.json
// before it is trusted to judge the package's own tokens.
func specSeal(t *testing.T, secret string, iv []byte, now time.Time, msg []byte) string {
	t.Helper()
	key, err := base64.URLEncoding.DecodeString(secret)
	require.NoError(t, err)
	signKey, encKey := key[:16], key[16:]

	pad := aes.BlockSize - len(msg)%aes.BlockSize
	padded := append(append([]byte(nil), msg...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(encKey)
	require.NoError(t, err)
	ciphertext := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ciphertext, padded)

	tok := []byte{0x80}
	tok = binary.BigEndian.AppendUint64(tok, uint64(now.Unix()))
	tok = append(tok, iv...)
	tok = append(tok, ciphertext...)
	mac := hmac.New(sha256.New, signKey)
	mac.Write(tok)
	return base64.URLEncoding.EncodeToString(mac.Sum(tok))
}

// specOpen is specSeal's inverse, used to check that Encrypt's output is a
// spec token and not merely something this package's Decrypt accepts.
func specOpen(t *testing.T, secret, token string) (msg []byte, ts time.Time) {
	t.Helper()
	key, err := base64.URLEncoding.DecodeString(secret)
	require.NoError(t, err)
	raw, err := base64.URLEncoding.DecodeString(token)
	require.NoError(t, err)
	require.Equal(t, byte(0x80), raw[0], "version byte")

	body, tag := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	mac := hmac.New(sha256.New, key[:16])
	mac.Write(body)
	require.True(t, hmac.Equal(tag, mac.Sum(nil)), "HMAC-SHA256 over version|timestamp|IV|ciphertext")

	block, err := aes.NewCipher(key[16:])
	require.NoError(t, err)
	ciphertext := body[25:]
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, body[9:25]).CryptBlocks(plain, ciphertext)
	pad := int(plain[len(plain)-1])
	require.True(t, pad >= 1 && pad <= aes.BlockSize, "PKCS#7 padding")
	return plain[:len(plain)-pad], time.Unix(int64(binary.BigEndian.Uint64(body[1:9])), 0)
}

func TestSpecOracleReproducesGenerateVector(t *testing.T) {
	t.Parallel()

	got := specSeal(t, specSecret, specGenerate.iv, specGenerate.now, []byte(specGenerate.src))
	require.Equal(t, specGenerate.token, got)
}

func TestDecryptSpecVector(t *testing.T) {
	t.Parallel()

	ring := mustKeyring(t, specSecret)
	got, err := ring.Decrypt(specGenerate.token)
	require.NoError(t, err)
	require.Equal(t, specGenerate.src, string(got))
	// A 1985 token still opens: no TTL is enforced on secrets at rest.
	require.False(t, ring.NeedsRotation(specGenerate.token))
}

func TestDecryptSpecInvalidVectors(t *testing.T) {
	t.Parallel()

	ring := mustKeyring(t, specSecret)
	for _, tc := range specInvalid {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()

			got, err := ring.Decrypt(tc.token)
			if tc.ttlOnly {
				require.NoError(t, err, "only a TTL check rejects this token, and none is enforced")
				want, _ := specOpen(t, specSecret, tc.token)
				require.Equal(t, want, got)
				return
			}
			require.ErrorIs(t, err, secrets.ErrInvalidToken)
			require.Nil(t, got)
			require.True(t, ring.NeedsRotation(tc.token))
		})
	}
}

func TestDecryptRejectsMalformedTokens(t *testing.T) {
	t.Parallel()

	ring := mustKeyring(t, specSecret)
	valid := specGenerate.token
	// A correctly signed token whose ciphertext is empty: the signature alone
	// must not be enough to reach decryption.
	raw := make([]byte, 0, 57)
	raw = append(raw, 0x80)
	raw = binary.BigEndian.AppendUint64(raw, 0)
	raw = append(raw, make([]byte, 16)...)
	key, err := base64.URLEncoding.DecodeString(specSecret)
	require.NoError(t, err)
	mac := hmac.New(sha256.New, key[:16])
	mac.Write(raw)
	emptyCiphertext := base64.URLEncoding.EncodeToString(mac.Sum(raw))

	for name, token := range map[string]string{
		"empty":               "",
		"super short":         "gAAA",
		"version only":        "gA==",
		"wrong version":       "gQ" + valid[2:],
		"embedded newline":    valid[:20] + "\n" + valid[20:],
		"missing padding":     strings.TrimRight(valid, "="),
		"signed, no payload":  emptyCiphertext,
		"standard base64 alt": strings.NewReplacer("-", "+", "_", "/").Replace(valid),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			_, err := ring.Decrypt(token)
			require.ErrorIs(t, err, secrets.ErrInvalidToken)
		})
	}
}

func TestEncryptProducesSpecTokens(t *testing.T) {
	t.Parallel()

	ring := mustKeyring(t, specSecret)
	for _, msg := range []string{"", "hello", "exactly sixteen!", strings.Repeat("x", 1000)} {
		before := time.Now().Truncate(time.Second)
		token, err := ring.Encrypt([]byte(msg))
		require.NoError(t, err)

		got, ts := specOpen(t, specSecret, token)
		require.Equal(t, msg, string(got))
		require.WithinRange(t, ts, before, time.Now())

		plain, err := ring.Decrypt(token)
		require.NoError(t, err)
		require.Equal(t, msg, string(plain))
	}
}

func TestEncryptUsesFreshIV(t *testing.T) {
	t.Parallel()

	ring := mustKeyring(t, secrets.GenerateKey())
	a, err := ring.Encrypt([]byte("same"))
	require.NoError(t, err)
	b, err := ring.Encrypt([]byte("same"))
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func TestDecryptRejectsTamperedToken(t *testing.T) {
	t.Parallel()

	ring := mustKeyring(t, secrets.GenerateKey())
	token, err := ring.Encrypt([]byte("webhook secret"))
	require.NoError(t, err)

	raw, err := base64.URLEncoding.DecodeString(token)
	require.NoError(t, err)
	for _, i := range []int{9, 30, len(raw) - 1} { // IV, ciphertext, HMAC
		tampered := append([]byte(nil), raw...)
		tampered[i] ^= 0x01
		_, err := ring.Decrypt(base64.URLEncoding.EncodeToString(tampered))
		require.ErrorIs(t, err, secrets.ErrInvalidToken, "byte %d flipped", i)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()

	oldKey, newKey := secrets.GenerateKey(), secrets.GenerateKey()
	oldToken, err := mustKeyring(t, oldKey).Encrypt([]byte("s3cret"))
	require.NoError(t, err)

	// Step 1: the new key goes first; old tokens still open and are flagged.
	rotating := mustKeyring(t, newKey+", "+oldKey)
	got, err := rotating.Decrypt(oldToken)
	require.NoError(t, err)
	require.Equal(t, "s3cret", string(got))
	require.True(t, rotating.NeedsRotation(oldToken))

	// Step 2: re-encrypting seals with the new key.
	newToken, err := rotating.Encrypt(got)
	require.NoError(t, err)
	require.False(t, rotating.NeedsRotation(newToken))

	// Step 3: once the old key is dropped, only re-encrypted tokens open.
	rotated := mustKeyring(t, newKey)
	_, err = rotated.Decrypt(oldToken)
	require.ErrorIs(t, err, secrets.ErrInvalidToken)
	got, err = rotated.Decrypt(newToken)
	require.NoError(t, err)
	require.Equal(t, "s3cret", string(got))
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()

	a, b := secrets.GenerateKey(), secrets.GenerateKey()
	require.NotEqual(t, a, b)
	raw, err := base64.URLEncoding.DecodeString(a)
	require.NoError(t, err)
	require.Len(t, raw, 32)
	mustKeyring(t, a+","+b)
}

func TestParseKeysErrors(t *testing.T) {
	t.Parallel()

	good := secrets.GenerateKey()
	raw, err := base64.URLEncoding.DecodeString(good)
	require.NoError(t, err)
	hexKey := hex.EncodeToString(raw) // 32 bytes, but not the spec's encoding

	for name, tc := range map[string]struct {
		list string
		want string
	}{
		"empty":           {list: "", want: "no encryption keys"},
		"blank":           {list: "  ", want: "no encryption keys"},
		"empty entry":     {list: good + ",,", want: "key 2 of 3: empty key"},
		"not base64":      {list: "not a key!", want: "key 1 of 1: not URL-safe base64"},
		"too short":       {list: base64.URLEncoding.EncodeToString(raw[:16]), want: "decodes to 16 bytes, want 32"},
		"hex":             {list: good + "," + hexKey, want: "key 2 of 2"},
		"standard base64": {list: base64.StdEncoding.EncodeToString(append([]byte{0xfb, 0xff}, raw[2:]...)), want: "not URL-safe base64"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			ring, err := secrets.ParseKeys(tc.list)
			require.Error(t, err)
			require.Nil(t, ring)
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "set SECRETS_KEYS to a comma-separated list of keys from `rd admin secrets-key generate`")
			require.NotContains(t, err.Error(), hexKey, "errors never echo key material")
		})
	}
}
