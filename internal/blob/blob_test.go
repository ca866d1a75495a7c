package blob_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/blob"
	"github.com/reviewdata/rd/internal/devs3"
)

// setup starts an in-memory S3 server and returns a store on a fresh bucket.
func setup(t *testing.T) (*blob.Store, *devs3.Server) {
	t.Helper()
	srv, err := devs3.Start("127.0.0.1:0", "")
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Stop(ctx))
	})
	b, err := blob.New(blob.Config{Bucket: "rd-blob-test", Endpoint: srv.URL(), AccessKeyID: "k", SecretAccessKey: "s"})
	require.NoError(t, err)
	require.NoError(t, b.EnsureBucket(t.Context()))
	return b, srv
}

// An object written with Put reads back with Get; a second Put to the same
// key replaces it (deterministic keys make retried writes safe); Delete
// removes it, twice without complaint; a missing key is ErrNotFound.
func TestPutGetOverwriteDelete(t *testing.T) {
	t.Parallel()
	b, _ := setup(t)
	ctx := t.Context()

	require.NoError(t, b.Put(ctx, "req-1/task-batch-1.jl", []byte("{\"a\":1}\n"), "application/x-ndjson"))
	got, err := b.Get(ctx, "req-1/task-batch-1.jl")
	require.NoError(t, err)
	require.Equal(t, "{\"a\":1}\n", string(got))

	require.NoError(t, b.Put(ctx, "req-1/task-batch-1.jl", []byte("{\"a\":2}\n"), "application/x-ndjson"))
	got, err = b.Get(ctx, "req-1/task-batch-1.jl")
	require.NoError(t, err)
	require.Equal(t, "{\"a\":2}\n", string(got))

	require.NoError(t, b.Delete(ctx, "req-1/task-batch-1.jl"))
	require.NoError(t, b.Delete(ctx, "req-1/task-batch-1.jl"), "deleting a missing key is not an error")
	_, err = b.Get(ctx, "req-1/task-batch-1.jl")
	require.ErrorIs(t, err, blob.ErrNotFound)
}

// With an endpoint and no public base, URL points at the endpoint's
// path-style address, which the dev server serves to anonymous GETs: the
// batch URLs integrators get download in the dev stack.
func TestURLDownloadsAnonymouslyFromTheDevServer(t *testing.T) {
	t.Parallel()
	b, srv := setup(t)
	require.NoError(t, b.Put(t.Context(), "req 1/t-batch-1.jl", []byte("line\n"), "application/x-ndjson"))

	u := b.URL("req 1/t-batch-1.jl")
	require.Equal(t, srv.URL()+"/rd-blob-test/req%201/t-batch-1.jl", u)
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "line\n", string(body))
}

func TestPublicBaseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  blob.Config
		want string
	}{
		{"configured CDN, trailing slash dropped", blob.Config{Bucket: "rd-prod", PublicBaseURL: "https://cdn.example.com/reviews/"}, "https://cdn.example.com/reviews/r/t-batch-2.jl"},
		{"endpoint and bucket", blob.Config{Bucket: "rd-dev", Endpoint: "http://127.0.0.1:9000/"}, "http://127.0.0.1:9000/rd-dev/r/t-batch-2.jl"},
		{"AWS virtual-hosted", blob.Config{Bucket: "rd-prod", Region: "eu-west-1"}, "https://rd-prod.s3.eu-west-1.amazonaws.com/r/t-batch-2.jl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := blob.New(tc.cfg)
			require.NoError(t, err)
			require.Equal(t, tc.want, b.URL("r/t-batch-2.jl"))
		})
	}

	_, err := blob.New(blob.Config{Bucket: "rd-prod", PublicBaseURL: "cdn.example.com"})
	require.ErrorContains(t, err, "S3_PUBLIC_BASE_URL")
}
