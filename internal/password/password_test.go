package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/password"
)

// cheap keeps tests fast; the cost of DefaultParams is exercised once in
// TestHashDefaultParams.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashDefaultParams(t *testing.T) {
	t.Parallel()

	encoded, err := password.Hash("correct horse battery staple")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(encoded, "$argon2id$v=19$m=65536,t=3,p=2$"), encoded)

	ok, needsRehash, err := password.Verify("correct horse battery staple", encoded)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, needsRehash)
}

func TestVerifyRoundTripAndWrongPassword(t *testing.T) {
	t.Parallel()

	encoded, err := password.HashWithParams("s3cret-ünïcode", cheap)
	require.NoError(t, err)

	ok, needsRehash, err := password.VerifyWithParams("s3cret-ünïcode", encoded, cheap)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, needsRehash)

	for _, wrong := range []string{"", "s3cret-unicode", "s3cret-ünïcode ", "S3cret-ünïcode"} {
		ok, needsRehash, err = password.VerifyWithParams(wrong, encoded, cheap)
		require.NoError(t, err, wrong)
		require.False(t, ok, wrong)
		require.False(t, needsRehash, "a failed verify must never ask for a rehash")
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	t.Parallel()

	a, err := password.HashWithParams("same", cheap)
	require.NoError(t, err)
	b, err := password.HashWithParams("same", cheap)
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func TestVerifyNeedsRehashWhenParamsDiffer(t *testing.T) {
	t.Parallel()

	encoded, err := password.HashWithParams("pw", cheap)
	require.NoError(t, err)

	for name, current := range map[string]password.Params{
		"memory":  {Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"time":    {Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		"threads": {Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		"salt":    {Memory: 64, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32},
		"key":     {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64},
	} {
		ok, needsRehash, err := password.VerifyWithParams("pw", encoded, current)
		require.NoError(t, err, name)
		require.True(t, ok, name)
		require.True(t, needsRehash, name)
	}

	// Verify compares with DefaultParams, which cheap is not.
	ok, needsRehash, err := password.Verify("pw", encoded)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, needsRehash)
}

// TestVerifyKnownAnswer checks against the reference implementation
// (phc-winner-argon2 src/test.c: password "password", salt "somesalt",
// t=2, m=64 MiB, p=1), so a change in encoding or in x/crypto would show.
func TestVerifyKnownAnswer(t *testing.T) {
	t.Parallel()

	const reference = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	ok, needsRehash, err := password.Verify("password", reference)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, needsRehash, "t=2,p=1 and an 8-byte salt are not DefaultParams")

	ok, _, err = password.Verify("passwore", reference)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestHashWithParamsRejectsInvalidParams(t *testing.T) {
	t.Parallel()

	for name, p := range map[string]password.Params{
		"zero":         {},
		"no threads":   {Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		"tiny memory":  {Memory: 8, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		"huge memory":  {Memory: 1<<20 + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"no time":      {Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		"short salt":   {Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		"short key":    {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		"too long key": {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 65},
	} {
		_, err := password.HashWithParams("pw", p)
		require.Error(t, err, name)
	}
	require.NoError(t, password.DefaultParams.Validate())
}

func TestVerifyRejectsMalformed(t *testing.T) {
	t.Parallel()

	valid, err := password.HashWithParams("pw", cheap)
	require.NoError(t, err)
	fields := strings.Split(valid, "$") // "", argon2id, v=19, params, salt, hash
	with := func(i int, v string) string {
		f := append([]string(nil), fields...)
		f[i] = v
		return strings.Join(f, "$")
	}

	for name, encoded := range map[string]string{
		"empty":            "",
		"bcrypt":           "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"no leading $":     strings.TrimPrefix(valid, "$"),
		"extra field":      valid + "$x",
		"argon2i":          with(1, "argon2i"),
		"old version":      with(2, "v=16"),
		"missing version":  strings.Replace(valid, "$v=19", "", 1),
		"reordered params": with(3, "t=1,m=64,p=1"),
		"leading zero":     with(3, "m=064,t=1,p=1"),
		"signed":           with(3, "m=+64,t=1,p=1"),
		"extra param":      with(3, "m=64,t=1,p=1,keyid=x"),
		"threads overflow": with(3, "m=64,t=1,p=256"),
		"memory too large": with(3, "m=4294967295,t=1,p=1"),
		"zero time":        with(3, "m=64,t=0,p=1"),
		"salt not base64":  with(4, "!!!!"),
		"padded salt":      with(4, fields[4]+"=="),
		"short salt":       with(4, "c2FsdA"), // "salt", 4 bytes
		"hash not base64":  with(5, "####"),
		"short hash":       with(5, "AAAAAAAAAAA"), // 8 bytes
	} {
		ok, needsRehash, err := password.VerifyWithParams("pw", encoded, cheap)
		require.ErrorIs(t, err, password.ErrMalformedHash, name)
		var typed *password.MalformedHashError
		require.True(t, errors.As(err, &typed), name)
		require.NotEmpty(t, typed.Reason, name)
		require.False(t, ok, name)
		require.False(t, needsRehash, name)
	}
}

func TestVerifyDetectsTamperedHash(t *testing.T) {
	t.Parallel()

	valid, err := password.HashWithParams("pw", cheap)
	require.NoError(t, err)
	i := strings.LastIndex(valid, "$") + 1
	// Flip the first character of the hash: still valid base64, wrong bytes.
	flipped := byte('A')
	if valid[i] == 'A' {
		flipped = 'B'
	}
	tampered := valid[:i] + string(flipped) + valid[i+1:]

	ok, _, err := password.VerifyWithParams("pw", tampered, cheap)
	require.NoError(t, err)
	require.False(t, ok)

	// Changing a parameter changes the derived key, so the hash no longer matches.
	tampered = strings.Replace(valid, "t=1", "t=2", 1)
	ok, _, err = password.VerifyWithParams("pw", tampered, cheap)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestGenerate(t *testing.T) {
	t.Parallel()

	seen := map[string]bool{}
	for range 100 {
		pw := password.Generate()
		require.Len(t, pw, 26)
		for _, r := range pw {
			require.True(t, (r >= 'A' && r <= 'Z') || (r >= '2' && r <= '7'), "unexpected %q in %q", r, pw)
		}
		require.False(t, seen[pw], "duplicate password")
		seen[pw] = true
	}
}
