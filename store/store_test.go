package store_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/store"
)

// testBundle is what most store tests need: a context and a transaction on a
// migrated database that is rolled back when the test ends.
type testBundle struct {
	ctx context.Context
	tx  bun.Tx
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return &testBundle{ctx: t.Context(), tx: pgtest.NewTx(t)}
}

// randomToken returns n random bytes as hex, for unique prefixes and IDs.
func randomToken(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// newAPIKey returns a valid, not yet inserted production key.
func newAPIKey(t *testing.T) *store.APIKey {
	t.Helper()
	hash := sha256.Sum256([]byte(randomToken(t, 16)))
	return &store.APIKey{
		Prefix:      "rd_" + randomToken(t, 4),
		KeyHash:     hash[:],
		Name:        "RM production",
		Integrator:  "rm",
		Environment: store.EnvironmentProduction,
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("MissingURLSaysHowToFix", func(t *testing.T) {
		t.Parallel()
		_, err := store.Open(t.Context(), store.Config{})
		require.ErrorContains(t, err, "set DATABASE_URL to postgres://")
	})

	t.Run("MalformedURLSaysHowToFix", func(t *testing.T) {
		t.Parallel()
		_, err := store.Open(t.Context(), store.Config{DatabaseURL: "postgres://u:p@host:notaport/db"})
		require.ErrorContains(t, err, "set DATABASE_URL to postgres://")
	})

	t.Run("NegativeMaxConns", func(t *testing.T) {
		t.Parallel()
		_, err := store.Open(t.Context(), store.Config{DatabaseURL: pgtest.AdminURL(), MaxConns: -1})
		require.ErrorContains(t, err, "MaxConns is -1")
	})

	t.Run("UnreachableServerNamesHostNotPassword", func(t *testing.T) {
		t.Parallel()
		_, err := store.Open(t.Context(), store.Config{
			DatabaseURL:    "postgres://rd:s3cret-pw@127.0.0.1:1/rd?sslmode=disable",
			ConnectTimeout: 2 * time.Second,
		})
		require.ErrorContains(t, err, `cannot reach PostgreSQL at 127.0.0.1:1, database "rd"`)
		require.NotContains(t, err.Error(), "s3cret-pw")
	})

	t.Run("OpensPingsAndCloses", func(t *testing.T) {
		t.Parallel()
		st, err := store.Open(t.Context(), store.Config{DatabaseURL: pgtest.NewDatabase(t)})
		require.NoError(t, err)
		defer st.Close()

		require.NoError(t, st.Ping(t.Context()))
		var appName string
		require.NoError(t, st.DB.NewRaw("SELECT current_setting('application_name')").Scan(t.Context(), &appName))
		require.Equal(t, "rd", appName)
	})

	t.Run("ApplicationNameFromConfigOrURL", func(t *testing.T) {
		t.Parallel()
		dbURL := pgtest.NewDatabase(t)
		appName := func(cfg store.Config) string {
			st, err := store.Open(t.Context(), cfg)
			require.NoError(t, err)
			defer st.Close()
			var name string
			require.NoError(t, st.DB.NewRaw("SELECT current_setting('application_name')").Scan(t.Context(), &name))
			return name
		}
		require.Equal(t, "rd-worker", appName(store.Config{DatabaseURL: dbURL, ApplicationName: "rd-worker"}))
		u, err := url.Parse(dbURL)
		require.NoError(t, err)
		q := u.Query()
		q.Set("application_name", "from-url")
		u.RawQuery = q.Encode()
		require.Equal(t, "from-url", appName(store.Config{DatabaseURL: u.String()}))
	})
}

// TestQueryFunctionsComposeInTx shows why query functions take bun.IDB: a
// service runs several in one transaction, and an error undoes them all.
func TestQueryFunctionsComposeInTx(t *testing.T) {
	t.Parallel()
	st := pgtest.NewStore(t)
	ctx := t.Context()
	key := newAPIKey(t)
	errAbort := errors.New("abort")

	err := st.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		require.NoError(t, store.InsertAPIKey(ctx, tx, key))
		require.NoError(t, store.InsertInboundRequest(ctx, tx, &store.InboundRequest{
			RequestID: randomToken(t, 8), Endpoint: "POST /request-reviews", APIKeyID: &key.ID, Payload: []byte(`{}`),
		}))
		return errAbort
	})
	require.ErrorIs(t, err, errAbort)

	_, err = store.FindAPIKeyByPrefix(ctx, st.DB, key.Prefix)
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, st.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return store.InsertAPIKey(ctx, tx, key)
	}))
	got, err := store.FindAPIKeyByPrefix(ctx, st.DB, key.Prefix)
	require.NoError(t, err)
	require.Equal(t, key.ID, got.ID)
}
