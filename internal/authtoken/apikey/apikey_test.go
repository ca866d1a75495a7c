package apikey_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/authtoken/apikey"
)

var shape = regexp.MustCompile(`^rd_(live|test)_([a-z2-7]{16})_[a-z2-7]{52}$`)

func TestGenerateParseMatches(t *testing.T) {
	t.Parallel()

	for _, env := range []apikey.Env{apikey.EnvLive, apikey.EnvTest} {
		plain, prefix, hash, err := apikey.Generate(env)
		require.NoError(t, err)
		m := shape.FindStringSubmatch(plain)
		require.NotNil(t, m, plain)
		require.Equal(t, string(env), m[1])
		require.Equal(t, prefix, m[2])
		require.Len(t, hash, 32)
		require.Equal(t, apikey.Hash(plain), hash)

		got, err := apikey.Parse(plain)
		require.NoError(t, err)
		require.Equal(t, prefix, got)
		require.True(t, apikey.Matches(plain, hash))
	}
}

func TestGenerateIsUnique(t *testing.T) {
	t.Parallel()

	prefixes := map[string]bool{}
	for range 200 {
		_, prefix, _, err := apikey.Generate(apikey.EnvLive)
		require.NoError(t, err)
		require.False(t, prefixes[prefix])
		prefixes[prefix] = true
	}
}

func TestGenerateRejectsUnknownEnv(t *testing.T) {
	t.Parallel()

	_, _, _, err := apikey.Generate("prod")
	require.Error(t, err)
}

func TestMatchesRefusesOtherKeys(t *testing.T) {
	t.Parallel()

	plain, _, hash, err := apikey.Generate(apikey.EnvLive)
	require.NoError(t, err)
	other, _, _, err := apikey.Generate(apikey.EnvLive)
	require.NoError(t, err)

	last := plain[len(plain)-1]
	flipped := byte('a')
	if last == 'a' {
		flipped = 'b'
	}
	for name, candidate := range map[string]string{
		"other key":      other,
		"same prefix":    plain[:len("rd_live_")+16] + other[len("rd_live_")+16:],
		"last char":      plain[:len(plain)-1] + string(flipped),
		"env swapped":    strings.Replace(plain, "rd_live_", "rd_test_", 1),
		"empty":          "",
		"truncated":      plain[:len(plain)-1],
		"trailing space": plain + " ",
	} {
		require.False(t, apikey.Matches(candidate, hash), name)
	}
	require.False(t, apikey.Matches(plain, nil), "no stored hash")
	require.False(t, apikey.Matches(plain, hash[:31]), "short stored hash")
}

func TestParseRejectsMalformed(t *testing.T) {
	t.Parallel()

	plain, _, _, err := apikey.Generate(apikey.EnvTest)
	require.NoError(t, err)
	parts := strings.Split(plain, "_")
	for name, s := range map[string]string{
		"empty":         "",
		"jwt":           "a.b.c",
		"refresh token": "rdr_abc",
		"wrong brand":   "xx_" + strings.Join(parts[1:], "_"),
		"unknown env":   "rd_prod_" + parts[2] + "_" + parts[3],
		"short prefix":  "rd_test_" + parts[2][1:] + "_" + parts[3],
		"short secret":  "rd_test_" + parts[2] + "_" + parts[3][1:],
		"upper case":    "rd_test_" + strings.ToUpper(parts[2]) + "_" + parts[3],
		"base32 digit":  "rd_test_" + parts[2][:15] + "1_" + parts[3],
		"extra part":    plain + "_x",
		"missing part":  "rd_test_" + parts[3],
	} {
		_, err := apikey.Parse(s)
		require.ErrorIs(t, err, apikey.ErrMalformed, name)
		require.NotContains(t, err.Error(), parts[3], "the secret must not leak into errors")
	}
}
