package password

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHashWithSaltKnownAnswer pins the encoder against the reference
// implementation's output for a fixed salt (phc-winner-argon2 src/test.c).
func TestHashWithSaltKnownAnswer(t *testing.T) {
	t.Parallel()

	p := Params{Memory: 65536, Time: 2, Threads: 1, SaltLen: 8, KeyLen: 32}
	require.Equal(t,
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		hashWithSalt("password", []byte("somesalt"), p))
}
