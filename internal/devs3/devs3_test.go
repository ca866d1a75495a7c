package devs3_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/blob"
	"github.com/reviewdata/rd/internal/devs3"
)

func newBlob(t *testing.T, srv *devs3.Server) *blob.Store {
	t.Helper()
	b, err := blob.New(blob.Config{Bucket: "rd-test", Endpoint: srv.URL(), AccessKeyID: "k", SecretAccessKey: "s"})
	require.NoError(t, err)
	return b
}

func stop(t *testing.T, srv *devs3.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Stop(ctx))
}

// The real AWS SDK client talks to the dev server unchanged: a missing bucket
// fails Ping, EnsureBucket creates it (twice is fine), and a file-backed
// server still has it after a restart.
func TestBucketLifecycleThroughTheAWSClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "s3.db")

	srv, err := devs3.Start("127.0.0.1:0", file)
	require.NoError(t, err)
	b := newBlob(t, srv)
	require.Error(t, b.Ping(ctx), "no bucket yet")
	require.NoError(t, b.EnsureBucket(ctx))
	require.NoError(t, b.EnsureBucket(ctx), "creating an existing bucket is not an error")
	require.NoError(t, b.Ping(ctx))
	stop(t, srv)

	again, err := devs3.Start("127.0.0.1:0", file)
	require.NoError(t, err)
	t.Cleanup(func() { stop(t, again) })
	require.NoError(t, newBlob(t, again).Ping(ctx), "bucket survives a restart")
}

func TestBlobConfigErrorsSayHowToFix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  blob.Config
		want string
	}{
		{blob.Config{Bucket: "ab"}, "S3_BUCKET"},
		{blob.Config{Bucket: "rd-dev", Endpoint: "127.0.0.1:9000"}, "S3_ENDPOINT"},
		{blob.Config{Bucket: "rd-dev", AccessKeyID: "only-one"}, "S3_SECRET_ACCESS_KEY"},
	} {
		_, err := blob.New(tc.cfg)
		require.ErrorContains(t, err, tc.want)
	}
}
