package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/secrets"
)

func TestAdminSecretsKeyGenerate(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	noEnv := func(string) string { return "" }
	require.NoError(t, run(t.Context(), []string{"admin", "secrets-key", "generate"}, noEnv, &out, &errOut))
	key := strings.TrimSpace(out.String())
	keys, err := secrets.ParseKeys(key)
	require.NoError(t, err, "the printed key is a valid SECRETS_KEYS entry")
	token, err := keys.Encrypt([]byte("s"))
	require.NoError(t, err)
	plain, err := keys.Decrypt(token)
	require.NoError(t, err)
	require.Equal(t, "s", string(plain))

	var again bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"admin", "secrets-key", "generate"}, noEnv, &again, &errOut))
	require.NotEqual(t, out.String(), again.String(), "every key is new")

	require.ErrorIs(t, run(t.Context(), []string{"admin", "nope"}, noEnv, &out, &errOut), errUsage)
	require.Contains(t, errOut.String(), "secrets-key generate")
}
