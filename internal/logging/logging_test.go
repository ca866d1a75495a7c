package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/logging"
)

func TestNewJSONCarriesContextAttrs(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	logger, err := logging.New(logging.Config{}, &buf)
	require.NoError(t, err)

	ctx := logging.WithRequestID(context.Background(), "req-1")
	ctx = logging.WithAttrs(ctx, slog.String("task_id", "t-1"))
	logger.InfoContext(ctx, "hello", "k", "v")

	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	require.Equal(t, "hello", line["msg"])
	require.Equal(t, "INFO", line["level"])
	require.Equal(t, "req-1", line["request_id"])
	require.Equal(t, "t-1", line["task_id"])
	require.Equal(t, "v", line["k"])
}

func TestNewTextFormatAndLevel(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	logger, err := logging.New(logging.Config{Format: "text", Level: slog.LevelWarn}, &buf)
	require.NoError(t, err)

	ctx := logging.WithRequestID(context.Background(), "req-2")
	logger.InfoContext(ctx, "dropped")
	logger.WarnContext(ctx, "kept")

	out := buf.String()
	require.NotContains(t, out, "dropped")
	require.Contains(t, out, "msg=kept")
	require.Contains(t, out, "request_id=req-2")
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()

	_, err := logging.New(logging.Config{Format: "xml"}, &bytes.Buffer{})
	require.ErrorContains(t, err, `use "json" or "text"`)

	_, err = logging.New(logging.Config{}, nil)
	require.ErrorContains(t, err, "nil writer")
}

func TestWithAttrsReplacesSameKeyAndDoesNotLeak(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	logger, err := logging.New(logging.Config{}, &buf)
	require.NoError(t, err)

	parent := logging.WithRequestID(context.Background(), "first")
	child := logging.WithRequestID(parent, "second")
	require.Equal(t, "first", logging.RequestID(parent))
	require.Equal(t, "second", logging.RequestID(child))
	require.Empty(t, logging.RequestID(context.Background()))

	logger.InfoContext(child, "once")
	require.Equal(t, 1, strings.Count(buf.String(), `"request_id"`))
	require.Contains(t, buf.String(), `"request_id":"second"`)

	buf.Reset()
	logger.Info("no context attrs")
	require.NotContains(t, buf.String(), "request_id")
}
