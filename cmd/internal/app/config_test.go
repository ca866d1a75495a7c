package app

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, "json", cfg.Log.Format)
	require.Equal(t, slog.LevelInfo, cfg.Log.Level)
	require.Equal(t, defaultDatabaseURL, cfg.Store.DatabaseURL)
	require.Equal(t, defaultRedisURL, cfg.RedisURL)
	require.Equal(t, defaultBucket, cfg.Blob.Bucket)
}

func TestLoadReadsEveryKind(t *testing.T) {
	t.Parallel()
	cfg, err := Load(env(map[string]string{
		"LOG_LEVEL":          "debug",
		"API_MAX_BODY_BYTES": "2048",
		"API_READ_TIMEOUT":   "3s",
		"DATABASE_MAX_CONNS": "7",
		"WORKER_QUEUES":      " maintenance, admission ,",
		"S3_ENDPOINT":        "http://127.0.0.1:9000",
	}))
	require.NoError(t, err)
	require.Equal(t, slog.LevelDebug, cfg.Log.Level)
	require.EqualValues(t, 2048, cfg.API.MaxBodyBytes)
	require.Equal(t, 3*time.Second, cfg.API.ReadTimeout)
	require.EqualValues(t, 7, cfg.Store.MaxConns)
	require.Equal(t, []string{"maintenance", "admission"}, cfg.Worker.Queues)
	require.Equal(t, "http://127.0.0.1:9000", cfg.Blob.Endpoint)
}

func TestLoadNamesTheBadVariable(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{
		"LOG_LEVEL":          "loud",
		"API_MAX_BODY_BYTES": "big",
		"API_WRITE_TIMEOUT":  "soon",
		"DATABASE_MAX_CONNS": "many",
	} {
		_, err := Load(env(map[string]string{name: value}))
		require.ErrorContains(t, err, name, "a bad %s must be reported by name", name)
	}
}

// The README's configuration table is the operators' reference: it must
// name every variable RD reads.
func TestREADMEListsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	for _, v := range EnvVars {
		require.True(t, strings.Contains(string(readme), "| `"+v.Name+"` |"), "README.md has no table row for %s", v.Name)
	}
}
